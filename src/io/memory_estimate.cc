#include "src/io/memory_estimate.h"

#include <climits>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/message.h"
#include "google/protobuf/unknown_field_set.h"
#include "google/protobuf/wire_format.h"
#include "google/protobuf/wire_format_lite.h"

namespace arbiter {
namespace internal {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormat;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

// The in-memory width of one element of a repeated scalar field.
uint64_t ScalarWidth(const FieldDescriptor* field) {
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      return 1;
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_ENUM:
      return 4;
    default:
      return 8;
  }
}

// A pass over the binary encoding that reads tags and lengths and skips
// payloads: nothing is allocated per element.
class BinaryEstimator {
 public:
  explicit BinaryEstimator(MessageSizes* sizes) : sizes_(*sizes) {}
  uint64_t bytes() const { return bytes_; }

  // The fields of a `type` (nullptr: an unknown group, whose fields are all
  // unknown) up to the stream's limit or, when `end_group` is not 0, up to
  // the END_GROUP tag of field `end_group`. False if the input is malformed
  // or nested too deeply.
  bool Fields(CodedInputStream* in, const Descriptor* type, int depth,
              int end_group) {
    if (depth > kMaxEstimateDepth) return false;
    bool any_unknown = false;
    while (true) {
      const uint32_t tag = in->ReadTag();
      if (tag == 0) return end_group == 0 && in->ConsumedEntireMessage();
      const int number =
          static_cast<int>(WireFormatLite::GetTagFieldNumber(tag));
      const WireFormatLite::WireType wire = WireFormatLite::GetTagWireType(tag);
      if (number == 0) return false;
      if (wire == WireFormatLite::WIRETYPE_END_GROUP) {
        return end_group != 0 && number == end_group;
      }
      const FieldDescriptor* field =
          type != nullptr ? type->FindFieldByNumber(number) : nullptr;
      if (field != nullptr && Expected(field, wire)) {
        if (!Known(in, field, wire, depth)) return false;
        continue;
      }
      // Unknown (or known with another wire type, which protobuf keeps as
      // unknown): an UnknownField in the message's UnknownFieldSet.
      if (!any_unknown) {
        any_unknown = true;
        bytes_ += sizeof(google::protobuf::UnknownFieldSet) + kRepeatedSlot;
      }
      bytes_ += sizeof(google::protobuf::UnknownField);
      if (!Unknown(in, number, wire, depth)) return false;
    }
  }

 private:
  // Whether protobuf parses `wire` as `field` (a repeated scalar also
  // packed or unpacked, whatever the schema says).
  static bool Expected(const FieldDescriptor* field,
                       WireFormatLite::WireType wire) {
    if (wire == WireFormat::WireTypeForFieldType(field->type())) return true;
    return field->is_packable() &&
           wire == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
  }

  static bool ReadLength(CodedInputStream* in, uint32_t* length) {
    // EstimateBinary sets a limit at the end of the data: there always is
    // one.
    return in->ReadVarint32(length) &&
           static_cast<int64_t>(*length) <= in->BytesUntilLimit();
  }

  bool Known(CodedInputStream* in, const FieldDescriptor* field,
             WireFormatLite::WireType wire, int depth) {
    const uint64_t slot = field->is_repeated() ? kRepeatedSlot : 0;
    if (wire == WireFormatLite::WIRETYPE_START_GROUP) {
      bytes_ += sizes_.Of(field->message_type()) + slot;
      return Fields(in, field->message_type(), depth + 1, field->number());
    }
    if (wire != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (field->is_repeated()) bytes_ += ScalarWidth(field);
      return WireFormatLite::SkipField(
          in, WireFormatLite::MakeTag(field->number(), wire));
    }
    uint32_t length;
    if (!ReadLength(in, &length)) return false;
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        bytes_ += sizes_.Of(field->message_type()) + slot;
        const CodedInputStream::Limit limit =
            in->PushLimit(static_cast<int>(length));
        const bool ok = Fields(in, field->message_type(), depth + 1, 0);
        in->PopLimit(limit);
        return ok;
      }
      case FieldDescriptor::CPPTYPE_STRING:
        bytes_ += StringEstimate(length) + slot;
        break;
      default:
        // Packed: at least one byte per varint, four or eight per fixed
        // value.
        bytes_ += field->type() == FieldDescriptor::TYPE_FIXED32 ||
                          field->type() == FieldDescriptor::TYPE_SFIXED32 ||
                          field->type() == FieldDescriptor::TYPE_FLOAT ||
                          field->type() == FieldDescriptor::TYPE_FIXED64 ||
                          field->type() == FieldDescriptor::TYPE_SFIXED64 ||
                          field->type() == FieldDescriptor::TYPE_DOUBLE
                      ? length
                      : uint64_t{length} * ScalarWidth(field);
        break;
    }
    return in->Skip(static_cast<int>(length));
  }

  bool Unknown(CodedInputStream* in, int number, WireFormatLite::WireType wire,
               int depth) {
    switch (wire) {
      case WireFormatLite::WIRETYPE_VARINT: {
        uint64_t value;
        return in->ReadVarint64(&value);
      }
      case WireFormatLite::WIRETYPE_FIXED64: {
        uint64_t value;
        return in->ReadLittleEndian64(&value);
      }
      case WireFormatLite::WIRETYPE_FIXED32: {
        uint32_t value;
        return in->ReadLittleEndian32(&value);
      }
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        uint32_t length;
        if (!ReadLength(in, &length)) return false;
        bytes_ += StringEstimate(length);
        return in->Skip(static_cast<int>(length));
      }
      case WireFormatLite::WIRETYPE_START_GROUP:
        bytes_ += sizeof(google::protobuf::UnknownFieldSet);
        return Fields(in, nullptr, depth + 1, number);
      default:
        return false;
    }
  }

  MessageSizes& sizes_;
  uint64_t bytes_ = 0;
};

}  // namespace

uint64_t MessageSizes::Of(const Descriptor* type) {
  auto it = sizes_.find(type);
  if (it != sizes_.end()) return it->second;
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type);
  const uint64_t size = prototype != nullptr ? prototype->SpaceUsedLong()
                                             : kGenericObjectEstimate;
  sizes_.emplace(type, size);
  return size;
}

Estimate EstimateBinary(absl::string_view data, const Descriptor* type) {
  Estimate estimate;
  if (data.size() > static_cast<size_t>(INT_MAX)) {
    estimate.complete = false;
    return estimate;
  }
  CodedInputStream in(reinterpret_cast<const uint8_t*>(data.data()),
                      static_cast<int>(data.size()));
  in.PushLimit(static_cast<int>(data.size()));
  MessageSizes sizes;
  BinaryEstimator estimator(&sizes);
  estimate.complete = estimator.Fields(&in, type, 0, 0);
  estimate.bytes = sizes.Of(type) + estimator.bytes();
  return estimate;
}

absl::Status CheckMemoryEstimate(uint64_t estimate, size_t input_bytes,
                                 double max_ratio, absl::string_view source) {
  if (estimate <= kMemoryEstimateFloor) return absl::OkStatus();
  // A NaN ratio compares false: only the floor applies.
  if (static_cast<double>(estimate) <=
      max_ratio * static_cast<double>(input_bytes)) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      source, ": parsing would take an estimated ", estimate,
      " bytes of memory for ", input_bytes, " bytes of input, more than ",
      max_ratio, " per input byte (LoadOptions::max_memory_ratio)"));
}

}  // namespace internal
}  // namespace arbiter
