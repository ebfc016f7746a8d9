// A Prometheus histogram's state: counts per bucket (upper bounds
// inclusive, as `le` means), their sum and count. Not thread-safe: the
// metrics registry updates it under its lock.
#ifndef AIGW_SERVER_OBSERVABILITY_HISTOGRAM_H_
#define AIGW_SERVER_OBSERVABILITY_HISTOGRAM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace aigw {

// Bucket upper bounds, ascending; +Inf is implied.
using BucketBounds = std::vector<double>;

class Histogram {
 public:
  explicit Histogram(const BucketBounds* bounds);

  void Observe(double value);
  // Adds `other`'s observations (same bounds).
  void Merge(const Histogram& other);

  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

  // The _bucket (cumulative), _sum and _count lines of `name`, each with
  // `labels` (already escaped `k="v"` pairs joined by ',', or "").
  void AppendTo(std::string* out, absl::string_view name,
                absl::string_view labels) const;

 private:
  const BucketBounds* bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; last = +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

}  // namespace aigw

#endif  // AIGW_SERVER_OBSERVABILITY_HISTOGRAM_H_
