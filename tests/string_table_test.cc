// The snapshot's string storage: handles, views, and the 4 GiB ceiling.

#include "src/internal/string_table.h"

#include "gtest/gtest.h"

namespace arbiter {
namespace internal {
namespace {

TEST(StringTableTest, HandlesAreDenseAndViewsStable) {
  StringTable t;
  t.Reserve(3, 16);
  EXPECT_EQ(t.Add("usr_1"), 0u);
  EXPECT_EQ(t.Add(""), 1u);
  EXPECT_EQ(t.Add("grp_x"), 2u);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.Get(0), "usr_1");
  EXPECT_EQ(t.Get(1), "");
  EXPECT_EQ(t.Get(2), "grp_x");
  EXPECT_FALSE(t.overflowed());
}

TEST(StringTableTest, OverflowIsReportedNotWrapped) {
  StringTable t(/*max_bytes=*/10);
  t.Add("12345");
  t.Add("67890");
  EXPECT_FALSE(t.overflowed());
  const auto h = t.Add("x");  // an 11th byte
  EXPECT_TRUE(t.overflowed());
  EXPECT_EQ(t.Get(h), "");  // nothing half-stored
  EXPECT_EQ(t.Get(1), "67890");
}

}  // namespace
}  // namespace internal
}  // namespace arbiter
