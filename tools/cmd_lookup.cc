// The reverse questions of arbiter/lookup.h on the command line:
//
//   arbiter who-can (FILE | --demo) --permission P --resource R
//   arbiter what-can (FILE | --demo) --principal X --permission P --kind K
//   arbiter permissions (FILE | --demo) [--principal X [--resource R]]
//
// who-can and what-can print every answer, or one page of it with
// --page-size (and the cursor of the next); permissions prints the access
// report of `anyscale user list-permissions` (access-model §10.2), or with
// --resource the permissions Check allows there. Every answer is the set
// Check allows, at one instant (--at, else now). docs/cli.md documents the
// output.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "arbiter/lookup.h"
#include "google/protobuf/arena.h"
#include "tools/cli_options.h"
#include "tools/commands.h"
#include "tools/decision_format.h"
#include "tools/proto_json.h"
#include "tools/query_line.h"
#include "tools/suggest.h"

namespace arbiter {
namespace cli {
namespace {

// ---- Flags ----

FlagSpec OrgFlag() {
  return {"org", 0, FlagSpec::kValue, "ID|NAME",
          "the organization, for emails and paths shared by several"};
}
FlagSpec ChannelFlag() {
  return {"channel", 0, FlagSpec::kValue, "api|console",
          "how the principals connect (default api)"};
}
FlagSpec JsonFlag() {
  return {"json", 0, FlagSpec::kBool, "",
          "print the answer as one JSON object"};
}
FlagSpec PageSizeFlag() {
  return {"page-size", 0, FlagSpec::kValue, "N",
          "print one page of at most N results, and the cursor of the next "
          "(default: every result)"};
}
FlagSpec CursorFlag() {
  return {"cursor", 0, FlagSpec::kValue, "CURSOR",
          "continue the lookup where the page that printed CURSOR stopped"};
}

// The request context of --channel and --at.
absl::StatusOr<RequestContext> GetContext(const ParsedArgs& args) {
  RequestContext context;
  if (args.Has("channel")) {
    absl::StatusOr<Channel> channel = ParseChannel(args.Get("channel"));
    if (!channel.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--channel: ", channel.status().message()));
    }
    context.channel = *channel;
  }
  absl::StatusOr<absl::optional<absl::Time>> at = GetAt(args);
  if (!at.ok()) return at.status();
  context.now = *at;
  return context;
}

// --page-size and --cursor.
struct Paging {
  // One page of `page_size` results; otherwise every result from `cursor`
  // on, fetched in pages of kDefaultPageSize.
  bool one_page = false;
  uint32_t page_size = kDefaultPageSize;
  std::string cursor;
};

absl::StatusOr<Paging> GetPaging(const ParsedArgs& args) {
  Paging paging;
  if (args.Has("page-size")) {
    const std::string text = args.Get("page-size");
    uint32_t n = 0;
    if (text.empty() || text.size() > 10 ||
        !std::all_of(text.begin(), text.end(),
                     [](char c) { return absl::ascii_isdigit(c); }) ||
        !absl::SimpleAtoi(text, &n) || n == 0 || n > kMaxPageSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("--page-size: \"", OneLine(text),
                       "\" is not a whole number from 1 to ", kMaxPageSize));
    }
    paging.one_page = true;
    paging.page_size = n;
  }
  if (args.Has("cursor")) {
    paging.cursor = args.Get("cursor");
    if (paging.cursor.empty()) {
      return absl::InvalidArgumentError(
          "--cursor: empty (leave the flag out for the first page)");
    }
  }
  return paging;
}

// ---- Errors ----

// The closest known names, as " (did you mean a, b?)", or "".
std::string DidYouMean(absl::string_view value,
                       const std::vector<std::string>& names) {
  const std::vector<std::string> close = ClosestNames(value, names);
  if (close.empty()) return "";
  return absl::StrCat(" (did you mean ", absl::StrJoin(close, ", "), "?)");
}

// Every name a resource may be given: ids, cloud names and
// cloud/project[/workload] paths.
std::vector<std::string> ResourceNames(const v1::PolicySet& state) {
  std::vector<std::string> out;
  absl::flat_hash_map<std::string, std::string> cloud_names, project_paths,
      default_project;
  for (const v1::Organization& o : state.organizations()) {
    out.push_back(o.id());
    out.push_back(o.name());
  }
  for (const v1::Cloud& c : state.clouds()) {
    out.push_back(c.id());
    out.push_back(c.name());
    cloud_names[c.id()] = c.name();
  }
  for (const v1::Project& p : state.projects()) {
    out.push_back(p.id());
    auto it = cloud_names.find(p.cloud_id());
    if (it == cloud_names.end()) continue;
    const std::string path = absl::StrCat(it->second, "/", p.name());
    project_paths[p.id()] = path;
    if (p.is_default()) default_project[p.cloud_id()] = p.id();
    out.push_back(path);
  }
  for (const v1::Workload& w : state.workloads()) {
    out.push_back(w.id());
    std::string project = w.project_id();
    if (project.empty()) project = default_project[w.cloud_id()];
    auto it = project_paths.find(project);
    if (it != project_paths.end()) {
      out.push_back(absl::StrCat(it->second, "/", w.name()));
    }
  }
  for (const v1::ComputeConfig& c : state.compute_configs()) {
    out.push_back(c.id());
  }
  for (const v1::Image& i : state.images()) out.push_back(i.id());
  return out;
}

// The values of the flags a lookup read, for messages.
struct FlagValues {
  std::string principal, permission, resource, within, org;
};

// A lookup's error as the command's message: the library names the request
// field ("permission: no permission \"x\""); the command names the flag,
// with the closest known names when the value is unknown.
std::string LookupError(const absl::Status& status, const FlagValues& values,
                        const Compiled& compiled) {
  struct Field {
    absl::string_view prefix;
    absl::string_view flag;
    const std::string* value;
  };
  const Field fields[] = {
      {"principal: ", "--principal", &values.principal},
      {"permission: ", "--permission", &values.permission},
      {"resource: ", "--resource", &values.resource},
      {"within: ", "--within", &values.within},
      {"org: ", "--org", &values.org},
      {"cursor: ", "--cursor", nullptr},
      {"page_size: ", "--page-size", nullptr},
  };
  const absl::string_view message = status.message();
  for (const Field& f : fields) {
    if (!absl::StartsWith(message, f.prefix)) continue;
    // The library names its request fields; the command, its flags.
    std::string out = absl::StrReplaceAll(
        absl::StrCat(f.flag, ": ", message.substr(f.prefix.size())),
        {{"; set org", "; pass --org"},
         {"(a path needs org:", "(a path needs --org:"},
         {"; name one", "; name one with --org"}});
    const bool needs_org = absl::StrContains(message, "needs org") ||
                           absl::StrContains(message, "set org") ||
                           absl::StrContains(message, "; name one");
    if (status.code() == absl::StatusCode::kNotFound && f.value != nullptr &&
        !needs_org) {
      const v1::PolicySet& state = compiled.loaded.state;
      std::vector<std::string> names;
      if (f.flag == "--permission") {
        for (const v1::Permission& p : compiled.engine->profile().permissions())
          names.push_back(p.name());
      } else if (f.flag == "--principal") {
        for (const v1::Principal& p : state.principals()) {
          names.push_back(p.id());
          names.push_back(p.email());
        }
      } else if (f.flag == "--org") {
        for (const v1::Organization& o : state.organizations()) {
          names.push_back(o.id());
          names.push_back(o.name());
        }
      } else {
        names = ResourceNames(state);
      }
      absl::StrAppend(&out, DidYouMean(*f.value, names));
    }
    return out;
  }
  return std::string(message);
}

// ---- Output ----

std::string Rfc3339OrNull(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "null";
  return absl::StrCat("\"", FormatRfc3339(t), "\"");
}

// "ORG_OWNER grant=g_1 source=DIRECT rule=org_owner until=...": a
// decision of an answer (always ALLOW) without its effect and revision.
std::string DecisionText(const DecisionFormatter& formatter,
                         const Decision& d) {
  std::string out(ReasonName(d.reason));
  if (!d.grant_id.empty()) {
    absl::StrAppend(&out, " grant=", d.grant_id,
                    " source=", GrantSourceName(d.source));
  }
  const absl::string_view rule = formatter.Rule(d.reason);
  if (!rule.empty()) absl::StrAppend(&out, " rule=", rule);
  if (d.valid_until != absl::InfiniteFuture()) {
    absl::StrAppend(&out, " until=", FormatRfc3339(d.valid_until));
  }
  return out;
}

// {"decision":{...},"valid_until":...} members, without braces.
void AppendDecisionJson(const DecisionFormatter& formatter, const Decision& d,
                        std::string* out) {
  std::string decision;
  formatter.AppendJson(d, "", &decision);
  if (!decision.empty() && decision.back() == '\n') decision.pop_back();
  absl::StrAppend(out, "\"decision\":", decision,
                  ",\"valid_until\":", Rfc3339OrNull(d.valid_until));
}

// Rows of columns, padded to align; the last column is not padded.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      out.append(row[i]);
      if (i + 1 < row.size()) out.append(width[i] - row[i].size() + 2, ' ');
    }
    out.push_back('\n');
  }
  return out;
}

// How a page ends: "... (complete; revision 1, at ...)" or that more follow
// and the cursor of the next page.
void AppendFooter(size_t count, absl::string_view noun, bool one_page,
                  bool complete, const std::string& next_cursor,
                  uint64_t revision, absl::Time at, std::string* out) {
  absl::StrAppend(out, count, " ", noun, count == 1 ? "" : "s",
                  one_page ? " on this page" : "",
                  complete ? " (complete" : " (more follow", "; revision ",
                  revision, ", at ", FormatRfc3339(at), ")\n");
  if (!complete)
    absl::StrAppend(out, "next page: --cursor ", next_cursor, "\n");
}

void AppendPagingJson(bool complete, const std::string& next_cursor,
                      std::string* out) {
  absl::StrAppend(out, ",\"complete\":", complete ? "true" : "false",
                  ",\"next_cursor\":");
  if (complete) {
    out->append("null");
  } else {
    AppendJsonString(next_cursor, out);
  }
}

// The instant a continued lookup was judged at comes from its cursor: an
// --at that disagrees is a mistake, not something to ignore.
absl::Status CheckCursorInstant(const RequestContext& context,
                                const Paging& paging, absl::Time at) {
  if (!paging.cursor.empty() && context.now.has_value() && *context.now != at) {
    return absl::InvalidArgumentError(
        absl::StrCat("--at: the cursor continues a lookup judged at ",
                     FormatRfc3339(at), ", not ", FormatRfc3339(*context.now),
                     "; leave out --at, or start again without --cursor"));
  }
  return absl::OkStatus();
}

// Fetches the pages of a lookup: one page, or every page from the cursor
// on. `fetch(cursor, page_size)` returns one page.
template <typename Page, typename Item, typename Fetch>
absl::Status FetchPages(const Paging& paging, Fetch fetch,
                        std::vector<Item> Page::*items, Page* all) {
  std::string cursor = paging.cursor;
  bool first = true;
  for (;;) {
    absl::StatusOr<Page> page = fetch(cursor, paging.page_size);
    if (!page.ok()) return page.status();
    if (first) {
      *all = *std::move(page);
      first = false;
    } else {
      std::vector<Item>& into = (*all).*items;
      std::vector<Item>& from = (*page).*items;
      into.insert(into.end(), from.begin(), from.end());
      all->complete = page->complete;
      all->next_cursor = std::move(page->next_cursor);
    }
    if (paging.one_page || all->complete) return absl::OkStatus();
    cursor = all->next_cursor;
  }
}

// Loads, compiles and indexes the state.
struct Indexed {
  Compiled compiled;
  std::unique_ptr<const Lookup> lookup;
  absl::Duration index_time;
};

absl::StatusOr<Indexed> LoadAndIndex(const StateArgs& state) {
  absl::StatusOr<Compiled> compiled = LoadAndCompile(state);
  if (!compiled.ok()) return compiled.status();
  Indexed out;
  out.compiled = *std::move(compiled);
  const absl::Time t0 = absl::Now();
  out.lookup = Lookup::Create(*out.compiled.engine);
  out.index_time = absl::Now() - t0;
  return out;
}

// Wall and CPU time of a step, for --stats.
class Stopwatch {
 public:
  Stopwatch() : wall0_(absl::Now()), cpu0_(ThreadCpuTime()) {}
  absl::Duration wall() const { return absl::Now() - wall0_; }
  absl::Duration cpu() const { return ThreadCpuTime() - cpu0_; }

 private:
  absl::Time wall0_;
  absl::Duration cpu0_;
};

struct StepTimes {
  absl::Duration wall, cpu;
  void Stop(const Stopwatch& w) {
    wall = w.wall();
    cpu = w.cpu();
  }
};

void PrintLookupStats(const Indexed& indexed, size_t results,
                      const StepTimes& lookup, const StepTimes& print,
                      size_t bytes, const Io& io) {
  PrintLoadStats(indexed.compiled, io);
  std::fprintf(io.err,
               "index:   %10.3f ms wall  (%.1f MiB)\n"
               "lookup:  %10.3f ms wall %10.3f ms cpu  (%zu results)\n"
               "format:  %10.3f ms wall %10.3f ms cpu  (%zu bytes)\n",
               absl::ToDoubleMilliseconds(indexed.index_time),
               static_cast<double>(indexed.lookup->MemoryUsage()) / (1 << 20),
               absl::ToDoubleMilliseconds(lookup.wall),
               absl::ToDoubleMilliseconds(lookup.cpu), results,
               absl::ToDoubleMilliseconds(print.wall),
               absl::ToDoubleMilliseconds(print.cpu), bytes);
}

// ---- who-can ----

int RunWhoCan(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<StateArgs> state = GetStateArgs(args, true);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  for (const char* flag : {"permission", "resource"}) {
    if (args.Get(flag).empty()) {
      return UsageError(command, io, absl::StrCat("missing --", flag));
    }
  }
  PrincipalFilter filter = PrincipalFilter::kAll;
  if (args.Has("principals")) {
    const std::string value = args.Get("principals");
    if (value == "users") {
      filter = PrincipalFilter::kUsers;
    } else if (value == "service-accounts") {
      filter = PrincipalFilter::kServiceAccounts;
    } else if (value != "all") {
      return UsageError(command, io,
                        absl::StrCat("--principals: \"", OneLine(value),
                                     "\" is not users, service-accounts or "
                                     "all"));
    }
  }
  absl::StatusOr<RequestContext> context = GetContext(args);
  if (!context.ok()) return UsageError(command, io, context.status().message());
  absl::StatusOr<Paging> paging = GetPaging(args);
  if (!paging.ok()) return UsageError(command, io, paging.status().message());

  absl::StatusOr<Indexed> indexed = LoadAndIndex(*state);
  if (!indexed.ok()) return InputError(command, io, indexed.status().message());
  FlagValues values;
  values.permission = args.Get("permission");
  values.resource = args.Get("resource");
  values.org = args.Get("org");

  LookupSubjectsRequest request;
  request.permission = values.permission;
  request.resource = values.resource;
  request.org = values.org;
  request.principals = filter;
  request.context = *context;
  SubjectPage page;
  StepTimes lookup_time, format_time;
  const Stopwatch lookup_watch;
  absl::Status status = FetchPages(
      *paging,
      [&](absl::string_view cursor, uint32_t page_size) {
        request.cursor = cursor;
        request.page_size = page_size;
        return indexed->lookup->LookupSubjects(request);
      },
      &SubjectPage::subjects, &page);
  lookup_time.Stop(lookup_watch);
  if (status.ok()) status = CheckCursorInstant(*context, *paging, page.at);
  if (!status.ok()) {
    return InputError(command, io,
                      LookupError(status, values, indexed->compiled));
  }

  const Stopwatch format_watch;
  const DecisionFormatter formatter(*indexed->compiled.engine);
  std::string out;
  if (args.Has("json")) {
    out.append("{\"permission\":");
    AppendJsonString(values.permission, &out);
    out.append(",\"resource\":");
    AppendJsonString(values.resource, &out);
    absl::StrAppend(&out, ",\"principals\":\"",
                    filter == PrincipalFilter::kAll     ? "all"
                    : filter == PrincipalFilter::kUsers ? "users"
                                                        : "service-accounts",
                    "\",\"revision\":", page.revision, ",\"at\":\"",
                    FormatRfc3339(page.at), "\",\"subjects\":[");
    for (size_t i = 0; i < page.subjects.size(); ++i) {
      const SubjectMatch& m = page.subjects[i];
      out.append(i == 0 ? "{\"id\":" : ",{\"id\":");
      AppendJsonString(m.id, &out);
      out.append(",\"email\":");
      AppendJsonString(m.email, &out);
      absl::StrAppend(&out, ",\"kind\":\"",
                      m.service_account ? "service_account" : "user", "\",");
      AppendDecisionJson(formatter, m.decision, &out);
      out.push_back('}');
    }
    out.push_back(']');
    AppendPagingJson(page.complete, page.next_cursor, &out);
    out.append("}\n");
  } else {
    std::vector<std::vector<std::string>> rows;
    if (!page.subjects.empty()) {
      rows.push_back({"PRINCIPAL", "EMAIL", "KIND", "DECISION"});
    }
    for (const SubjectMatch& m : page.subjects) {
      rows.push_back({std::string(m.id), std::string(m.email),
                      m.service_account ? "service account" : "user",
                      DecisionText(formatter, m.decision)});
    }
    out = Table(rows);
    AppendFooter(page.subjects.size(), "principal", paging->one_page,
                 page.complete, page.next_cursor, page.revision, page.at, &out);
  }
  format_time.Stop(format_watch);
  std::fputs(out.c_str(), io.out);
  if (args.Has("stats")) {
    PrintLookupStats(*indexed, page.subjects.size(), lookup_time, format_time,
                     out.size(), io);
  }
  return kExitOk;
}

// ---- what-can ----

// The name of each resource for people: cloud[/project[/workload]] paths
// for what paths name, else the object's name.
absl::flat_hash_map<std::string, std::string> DisplayNames(
    const v1::PolicySet& state) {
  absl::flat_hash_map<std::string, std::string> names, default_project;
  for (const v1::Organization& o : state.organizations()) {
    names[o.id()] = o.name();
  }
  for (const v1::Cloud& c : state.clouds()) names[c.id()] = c.name();
  for (const v1::Project& p : state.projects()) {
    names[p.id()] = absl::StrCat(names[p.cloud_id()], "/", p.name());
    if (p.is_default()) default_project[p.cloud_id()] = p.id();
  }
  for (const v1::Workload& w : state.workloads()) {
    const std::string project =
        w.project_id().empty() ? default_project[w.cloud_id()] : w.project_id();
    names[w.id()] = absl::StrCat(names[project], "/", w.name());
  }
  for (const v1::ComputeConfig& c : state.compute_configs()) {
    names[c.id()] = c.name();
  }
  for (const v1::Image& i : state.images()) names[i.id()] = i.name();
  return names;
}

bool ParseKindFlag(absl::string_view text, ResourceKind* kind) {
  if (text == "org") return false;  // one per principal: use check
  if (text == "compute-config") text = "compute_config";
  return ParseResourceKind(text, kind);
}

int RunWhatCan(const Command& command, const ParsedArgs& args, const Io& io) {
  absl::StatusOr<StateArgs> state = GetStateArgs(args, true);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  for (const char* flag : {"principal", "permission", "kind"}) {
    if (args.Get(flag).empty()) {
      return UsageError(command, io, absl::StrCat("missing --", flag));
    }
  }
  ResourceKind kind;
  if (!ParseKindFlag(args.Get("kind"), &kind)) {
    return UsageError(
        command, io,
        absl::StrCat("--kind: \"", OneLine(args.Get("kind")),
                     "\" is not workload, project, cloud, compute-config or "
                     "image"));
  }
  if (args.Has("within") && args.Get("within").empty()) {
    return UsageError(command, io,
                      "--within: empty (give an organization, a cloud or a "
                      "project, or leave the flag out)");
  }
  absl::StatusOr<RequestContext> context = GetContext(args);
  if (!context.ok()) return UsageError(command, io, context.status().message());
  absl::StatusOr<Paging> paging = GetPaging(args);
  if (!paging.ok()) return UsageError(command, io, paging.status().message());

  absl::StatusOr<Indexed> indexed = LoadAndIndex(*state);
  if (!indexed.ok()) return InputError(command, io, indexed.status().message());
  FlagValues values;
  values.principal = args.Get("principal");
  values.permission = args.Get("permission");
  values.within = args.Get("within");
  values.org = args.Get("org");

  LookupResourcesRequest request;
  request.principal = values.principal;
  request.permission = values.permission;
  request.kind = kind;
  request.within = values.within;
  request.org = values.org;
  request.context = *context;
  ResourcePage page;
  StepTimes lookup_time, format_time;
  const Stopwatch lookup_watch;
  absl::Status status = FetchPages(
      *paging,
      [&](absl::string_view cursor, uint32_t page_size) {
        request.cursor = cursor;
        request.page_size = page_size;
        return indexed->lookup->LookupResources(request);
      },
      &ResourcePage::resources, &page);
  lookup_time.Stop(lookup_watch);
  if (status.ok()) status = CheckCursorInstant(*context, *paging, page.at);
  if (!status.ok()) {
    return InputError(command, io,
                      LookupError(status, values, indexed->compiled));
  }

  const Stopwatch format_watch;
  const DecisionFormatter formatter(*indexed->compiled.engine);
  const absl::flat_hash_map<std::string, std::string> names =
      DisplayNames(indexed->compiled.loaded.state);
  auto name_of = [&names](absl::string_view id) -> std::string {
    auto it = names.find(id);
    return it == names.end() ? "" : it->second;
  };
  std::string out;
  if (args.Has("json")) {
    out.append("{\"principal\":");
    AppendJsonString(values.principal, &out);
    out.append(",\"permission\":");
    AppendJsonString(values.permission, &out);
    absl::StrAppend(&out, ",\"kind\":\"", ResourceKindName(kind),
                    "\",\"within\":");
    if (values.within.empty()) {
      out.append("null");
    } else {
      AppendJsonString(values.within, &out);
    }
    absl::StrAppend(&out, ",\"revision\":", page.revision, ",\"at\":\"",
                    FormatRfc3339(page.at), "\",\"resources\":[");
    for (size_t i = 0; i < page.resources.size(); ++i) {
      const ResourceMatch& m = page.resources[i];
      out.append(i == 0 ? "{\"id\":" : ",{\"id\":");
      AppendJsonString(m.id, &out);
      absl::StrAppend(&out, ",\"kind\":\"", ResourceKindName(m.kind),
                      "\",\"name\":");
      AppendJsonString(name_of(m.id), &out);
      out.push_back(',');
      AppendDecisionJson(formatter, m.decision, &out);
      out.push_back('}');
    }
    out.push_back(']');
    AppendPagingJson(page.complete, page.next_cursor, &out);
    out.append("}\n");
  } else {
    std::vector<std::vector<std::string>> rows;
    if (!page.resources.empty()) {
      rows.push_back({"RESOURCE", "NAME", "DECISION"});
    }
    for (const ResourceMatch& m : page.resources) {
      rows.push_back({std::string(m.id), name_of(m.id),
                      DecisionText(formatter, m.decision)});
    }
    out = Table(rows);
    std::string noun(ResourceKindName(kind));
    if (kind == ResourceKind::kComputeConfig) noun = "compute config";
    AppendFooter(page.resources.size(), noun, paging->one_page, page.complete,
                 page.next_cursor, page.revision, page.at, &out);
  }
  format_time.Stop(format_watch);
  std::fputs(out.c_str(), io.out);
  if (args.Has("stats")) {
    PrintLookupStats(*indexed, page.resources.size(), lookup_time, format_time,
                     out.size(), io);
  }
  return kExitOk;
}

// ---- permissions ----

std::string SourceName(v1::GrantSource source) {
  switch (source) {
    case v1::GRANT_SOURCE_DIRECT:
      return "direct";
    case v1::GRANT_SOURCE_GROUP:
      return "group";
    case v1::GRANT_SOURCE_AUTO_ADD:
      return "auto-add";
    default:
      return "unspecified";
  }
}

std::string TimestampText(const google::protobuf::Timestamp& t) {
  return FormatRfc3339(absl::FromUnixSeconds(t.seconds()) +
                       absl::Nanoseconds(t.nanos()));
}

// "project_owner via grant g_1 (direct)", "project_write via group ml-team
// (grant g_2)", with "[deny]" and the expiry when set.
std::string HeldText(const v1::HeldRole& h) {
  std::string out = h.role();
  if (h.deny()) out.append(" [deny]");
  if (h.source() == v1::GRANT_SOURCE_GROUP) {
    absl::StrAppend(&out, " (grant ", h.grant_id(), " of group ", h.group_id(),
                    ")");
  } else {
    absl::StrAppend(&out, " (grant ", h.grant_id(), ", ",
                    SourceName(h.source()), ")");
  }
  if (h.has_expires_at()) {
    absl::StrAppend(&out, " until ", TimestampText(h.expires_at()));
  }
  return out;
}

// The lines of a scope of the report: its effective role and what makes it.
template <typename Scope>
void AppendScope(absl::string_view indent, absl::string_view title,
                 const Scope& scope, std::string* out) {
  absl::StrAppend(out, indent, title, ": ",
                  scope.role().empty() ? "(no role)" : scope.role());
  if (!scope.reasons().empty()) {
    absl::StrAppend(out, "  [", absl::StrJoin(scope.reasons(), ", "), "]");
  }
  out->push_back('\n');
  for (const v1::HeldRole& h : scope.held()) {
    absl::StrAppend(out, indent, "  holds ", HeldText(h), "\n");
  }
  if (!scope.permissions().empty()) {
    absl::StrAppend(out, indent,
                    "  permissions: ", absl::StrJoin(scope.permissions(), " "),
                    "\n");
  }
}

// The report for people. `one`: the report of one principal (only its
// section is printed).
std::string ReportText(const v1::AccessReport& report, bool one) {
  std::string out = absl::StrCat("organization ", report.organization_id(),
                                 " (revision ", report.revision(), ", at ",
                                 TimestampText(report.at()), ")\n");
  if (!one || !report.org_owners().empty()) out.append("org owners:\n");
  if (!one && report.org_owners().empty()) out.append("  (none)\n");
  for (const v1::OrgOwner& o : report.org_owners()) {
    absl::StrAppend(&out, "  ", o.user_email(), " (", o.user_id(),
                    o.kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT
                        ? ", service account"
                        : "",
                    ")\n");
    for (const v1::HeldRole& h : o.held()) {
      absl::StrAppend(&out, "    holds ", HeldText(h), "\n");
    }
  }
  if (!one || !report.users().empty()) out.append("users:\n");
  if (!one && report.users().empty()) out.append("  (none)\n");
  for (const v1::UserAccess& u : report.users()) {
    absl::StrAppend(
        &out, "  ", u.user_email(), " (", u.user_id(),
        u.kind() == v1::PRINCIPAL_KIND_SERVICE_ACCOUNT ? ", service account"
                                                       : "",
        "): org role ", u.org_role().empty() ? "(none)" : u.org_role(), "\n");
    for (const v1::HeldRole& h : u.held()) {
      absl::StrAppend(&out, "    holds ", HeldText(h), "\n");
    }
    if (!u.permissions().empty()) {
      absl::StrAppend(
          &out, "    permissions: ", absl::StrJoin(u.permissions(), " "), "\n");
    }
    for (const v1::CloudAccess& c : u.clouds()) {
      AppendScope(
          "    ",
          absl::StrCat("cloud ", c.cloud_name(), " (", c.cloud_id(), ")"), c,
          &out);
      for (const v1::ProjectAccess& p : c.projects()) {
        AppendScope("      ",
                    absl::StrCat("project ", p.project_name(), " (",
                                 p.project_id(), ")"),
                    p, &out);
      }
    }
  }
  return out;
}

int RunPermissions(const Command& command, const ParsedArgs& args,
                   const Io& io) {
  absl::StatusOr<StateArgs> state = GetStateArgs(args, true);
  if (!state.ok()) return UsageError(command, io, state.status().message());
  if (args.Has("resource") && !args.Has("principal")) {
    return UsageError(command, io,
                      "--resource needs --principal (who-can lists the "
                      "principals of a resource)");
  }
  if (args.Has("resource") && args.Has("include-permissions")) {
    return UsageError(command, io,
                      "--include-permissions belongs to the report; with "
                      "--resource every line is a permission");
  }
  for (const char* flag : {"principal", "resource", "org"}) {
    if (args.Has(flag) && args.Get(flag).empty()) {
      return UsageError(command, io, absl::StrCat("--", flag, ": empty"));
    }
  }
  absl::StatusOr<RequestContext> context = GetContext(args);
  if (!context.ok()) return UsageError(command, io, context.status().message());

  absl::StatusOr<Indexed> indexed = LoadAndIndex(*state);
  if (!indexed.ok()) return InputError(command, io, indexed.status().message());
  FlagValues values;
  values.principal = args.Get("principal");
  values.resource = args.Get("resource");
  values.org = args.Get("org");

  std::string out;
  size_t results = 0;
  StepTimes lookup_time, format_time;
  const Stopwatch lookup_watch;
  if (args.Has("resource")) {
    absl::StatusOr<PermissionSet> set = indexed->lookup->ListPermissions(
        values.principal, values.resource, values.org, *context);
    lookup_time.Stop(lookup_watch);
    const Stopwatch format_watch;
    if (!set.ok()) {
      return InputError(command, io,
                        LookupError(set.status(), values, indexed->compiled));
    }
    const std::vector<absl::string_view> names = set->Names();
    results = names.size();
    if (args.Has("json")) {
      out.append("{\"principal\":");
      AppendJsonString(values.principal, &out);
      out.append(",\"resource\":");
      AppendJsonString(values.resource, &out);
      absl::StrAppend(&out, ",\"revision\":", indexed->lookup->revision(),
                      ",\"permissions\":[");
      for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out.push_back(',');
        AppendJsonString(names[i], &out);
      }
      out.append("]}\n");
    } else {
      for (absl::string_view name : names) absl::StrAppend(&out, name, "\n");
    }
    format_time.Stop(format_watch);
  } else {
    AccessReportRequest request;
    request.org = values.org;
    request.principal = values.principal;
    request.include_permissions = args.Has("include-permissions");
    request.context = *context;
    // On an arena: a whole organization's report is hundreds of thousands
    // of messages.
    google::protobuf::Arena arena;
    v1::AccessReport* report =
        google::protobuf::Arena::CreateMessage<v1::AccessReport>(&arena);
    const absl::Status status =
        indexed->lookup->EffectiveAccess(request, report);
    lookup_time.Stop(lookup_watch);
    const Stopwatch format_watch;
    if (!status.ok()) {
      return InputError(command, io,
                        LookupError(status, values, indexed->compiled));
    }
    results = report->org_owners_size() + report->users_size();
    if (args.Has("json")) {
      if (absl::Status st = AppendProtoJson(*report, &out); !st.ok()) {
        return InputError(command, io, st.message());
      }
      out.push_back('\n');
    } else {
      out = ReportText(*report, !values.principal.empty());
    }
    format_time.Stop(format_watch);
  }
  std::fputs(out.c_str(), io.out);
  if (args.Has("stats")) {
    PrintLookupStats(*indexed, results, lookup_time, format_time, out.size(),
                     io);
  }
  return kExitOk;
}

std::vector<FlagSpec> StateFlags() {
  return {DemoFlag(), FormatFlag(), MaxBytesFlag(), OptionFlag()};
}

}  // namespace

const Command& WhoCanCommand() {
  static const Command* const command = [] {
    std::vector<FlagSpec> flags = StateFlags();
    flags.push_back({"permission", 0, FlagSpec::kValue, "NAME",
                     "the permission, e.g. project.workload.terminate"});
    flags.push_back({"resource", 0, FlagSpec::kValue, "ID|PATH",
                     "the resource: an id or a cloud[/project[/workload]] "
                     "path"});
    flags.push_back(OrgFlag());
    flags.push_back({"principals", 0, FlagSpec::kValue,
                     "users|service-accounts|all",
                     "which principals to list (default all)"});
    flags.push_back(ChannelFlag());
    flags.push_back(AtFlag());
    flags.push_back(JsonFlag());
    flags.push_back(PageSizeFlag());
    flags.push_back(CursorFlag());
    flags.push_back(StatsFlag());
    return new Command{
        "who-can",
        "arbiter who-can (FILE | --demo) --permission P --resource R "
        "[--principals users|service-accounts|all] [flags]",
        "list every principal that holds a permission on a resource",
        "Lists every principal for which 'arbiter check' would ALLOW the\n"
        "permission on the resource, by id, each with the decision check "
        "gives\n"
        "(reason, deciding grant and its source, implicit rule, and the "
        "expiry\n"
        "of the deciding grant when it has one):\n"
        "\n"
        "  PRINCIPAL  EMAIL           KIND  DECISION\n"
        "  usr_alice  alice@acme.com  user  ORG_OWNER grant=g_alice_org_owner "
        "...\n"
        "\n"
        "Groups are not principals: their members are listed. Deleted and\n"
        "invited principals never are; organization owners are. The answer "
        "is\n"
        "exact and complete, judged at one instant (--at, else now).\n"
        "\n"
        "--page-size N prints one page and, when more follow, the cursor of "
        "the\n"
        "next page; pass it with --cursor (and the same other flags and "
        "state)\n"
        "to continue. A cursor from another state or lookup is refused.\n"
        "\n"
        "Exits 0 with the answer, even an empty one; 2 on a usage error or "
        "an\n"
        "unknown permission, resource or organization (with the closest "
        "names),\n"
        "or a bad cursor.\n",
        flags,
        &RunWhoCan};
  }();
  return *command;
}

const Command& WhatCanCommand() {
  static const Command* const command = [] {
    std::vector<FlagSpec> flags = StateFlags();
    flags.push_back(
        {"principal", 0, FlagSpec::kValue, "EMAIL|ID", "the principal"});
    flags.push_back({"permission", 0, FlagSpec::kValue, "NAME",
                     "the permission, e.g. project.workload.terminate"});
    flags.push_back({"kind", 0, FlagSpec::kValue, "KIND",
                     "the kind of resource: workload, project, cloud, "
                     "compute-config or image"});
    flags.push_back({"within", 0, FlagSpec::kValue, "ID|PATH",
                     "only resources in this organization, cloud or project "
                     "(default: the principal's organization)"});
    flags.push_back(OrgFlag());
    flags.push_back(ChannelFlag());
    flags.push_back(AtFlag());
    flags.push_back(JsonFlag());
    flags.push_back(PageSizeFlag());
    flags.push_back(CursorFlag());
    flags.push_back(StatsFlag());
    return new Command{
        "what-can",
        "arbiter what-can (FILE | --demo) --principal X --permission P "
        "--kind KIND [--within ID|PATH] [flags]",
        "list every resource of a kind on which a principal holds a "
        "permission",
        "Lists every resource of the kind (workload, project, cloud,\n"
        "compute-config or image) on which 'arbiter check' would ALLOW the\n"
        "permission to the principal, in tree order (by cloud id, project "
        "id,\n"
        "then id), each with its name and the decision check gives:\n"
        "\n"
        "  RESOURCE        NAME                      DECISION\n"
        "  wl_nightly_etl  prod/ml-prod/nightly-etl  GRANT "
        "grant=g_ml_team_ml_prod ...\n"
        "\n"
        "A principal that check denies everything (deleted, invited) gets "
        "an\n"
        "empty answer. The answer is exact and complete, judged at one "
        "instant\n"
        "(--at, else now).\n"
        "\n"
        "--page-size N prints one page and, when more follow, the cursor of "
        "the\n"
        "next page; pass it with --cursor (and the same other flags and "
        "state)\n"
        "to continue. A cursor from another state or lookup is refused.\n"
        "\n"
        "Exits 0 with the answer, even an empty one; 2 on a usage error or "
        "an\n"
        "unknown principal, permission, --within or organization (with the\n"
        "closest names), or a bad cursor.\n",
        flags,
        &RunWhatCan};
  }();
  return *command;
}

const Command& PermissionsCommand() {
  static const Command* const command = [] {
    std::vector<FlagSpec> flags = StateFlags();
    flags.push_back({"principal", 0, FlagSpec::kValue, "EMAIL|ID",
                     "report this principal only (default: everyone)"});
    flags.push_back({"resource", 0, FlagSpec::kValue, "ID|PATH",
                     "with --principal: list the permissions the principal "
                     "holds on this resource"});
    flags.push_back(OrgFlag());
    flags.push_back({"include-permissions", 0, FlagSpec::kBool, "",
                     "also list, per scope of the report, every permission "
                     "allowed there"});
    flags.push_back(ChannelFlag());
    flags.push_back(AtFlag());
    flags.push_back(JsonFlag());
    flags.push_back(StatsFlag());
    return new Command{
        "permissions",
        "arbiter permissions (FILE | --demo) [--principal X] [--org O] "
        "[flags]\n"
        "       arbiter permissions (FILE | --demo) --principal X "
        "--resource R [flags]",
        "effective access: the report of every principal, or what one may do",
        "Prints the effective-access report of 'anyscale user\n"
        "list-permissions' for the whole organization, or with --principal "
        "for\n"
        "one principal: the organization owners (implicit owners of every "
        "cloud\n"
        "and project), then every other active principal with its "
        "organization\n"
        "role and, per cloud and project it can reach, its effective role "
        "(the\n"
        "role of that level whose permissions check allows in full there),\n"
        "the grants it holds there (direct, through a group or auto-added;\n"
        "deny roles marked) and the reasons check gives. --json prints the\n"
        "arbiter.v1.AccessReport message (proto/arbiter/v1/"
        "access_report.proto).\n"
        "\n"
        "With --principal and --resource, prints the permissions check "
        "allows\n"
        "the principal on that resource, one per line (what a console uses "
        "to\n"
        "enable its buttons).\n"
        "\n"
        "Exits 0 with the answer; 2 on a usage error or an unknown "
        "principal,\n"
        "resource or organization, or an organization that must be named.\n",
        flags,
        &RunPermissions};
  }();
  return *command;
}

}  // namespace cli
}  // namespace arbiter
