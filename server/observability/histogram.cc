#include "server/observability/histogram.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/observability/prometheus_text.h"

namespace aigw {

Histogram::Histogram(const BucketBounds* bounds)
    : bounds_(bounds), counts_(bounds->size() + 1, 0) {}

void Histogram::Observe(double value) {
  size_t bucket = std::lower_bound(bounds_->begin(), bounds_->end(), value) -
                  bounds_->begin();
  counts_[bucket]++;
  sum_ += value;
  count_++;
}

void Histogram::Merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size() && i < other.counts_.size(); ++i) {
    counts_[i] += other.counts_[i];
  }
  sum_ += other.sum_;
  count_ += other.count_;
}

void Histogram::AppendTo(std::string* out, absl::string_view name,
                         absl::string_view labels) const {
  absl::string_view comma = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    cumulative += counts_[i];
    std::string le =
        i < bounds_->size() ? FormatSampleValue((*bounds_)[i]) : "+Inf";
    absl::StrAppend(out, name, "_bucket{", labels, comma, "le=\"", le, "\"} ",
                    cumulative, "\n");
  }
  absl::StrAppend(out, name, "_sum", labels.empty() ? "" : "{", labels,
                  labels.empty() ? "" : "}", " ", FormatSampleValue(sum_),
                  "\n");
  absl::StrAppend(out, name, "_count", labels.empty() ? "" : "{", labels,
                  labels.empty() ? "" : "}", " ", count_, "\n");
}

}  // namespace aigw
