#include "server/protection/offender_log.h"

#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"

namespace aigw {
namespace {

void WriteToStderr(absl::string_view line) {
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

std::string Seconds(absl::Duration d) {
  return absl::StrCat(absl::ToInt64Seconds(d + absl::Milliseconds(500)), "s");
}

std::string Hit(const IpAddress& client, RejectReason reason) {
  return absl::StrCat("aigw: protection: ", client.DescribeClient(), " hit ",
                      RejectReasonName(reason));
}

}  // namespace

OffenderLog::OffenderLog(const Options& options, Sink sink)
    : options_(options), sink_(sink ? std::move(sink) : Sink(WriteToStderr)) {}

void OffenderLog::Record(const IpAddress& client, RejectReason reason,
                         absl::Time now) {
  std::string line;
  {
    absl::MutexLock lock(&mu_);
    Key key{client.ClientKey(), reason};
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      if (entries_.size() >= options_.max_offenders) {
        if (untracked_++ == 0) untracked_since_ = now;
        return;
      }
      entries_[key].logged = now;
      line = Hit(client, reason);
    } else if (now - it->second.logged < options_.interval) {
      it->second.held++;
      return;
    } else {
      line = Hit(client, reason);
      if (it->second.held > 0) {
        absl::StrAppend(&line, " (and ", it->second.held,
                        " more times in the last ",
                        Seconds(now - it->second.logged), ")");
      }
      it->second = {now, 0};
    }
  }
  sink_(line);
}

void OffenderLog::Flush(absl::Time now) {
  std::vector<std::string> lines;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = entries_.begin(); it != entries_.end();) {
      Entry& entry = it->second;
      if (now - entry.logged < options_.interval) {
        ++it;
        continue;
      }
      if (entry.held == 0) {
        entries_.erase(it++);
        continue;
      }
      lines.push_back(absl::StrCat(Hit(it->first.first, it->first.second), " ",
                                   entry.held, " more times in the last ",
                                   Seconds(now - entry.logged)));
      entry = {now, 0};
      ++it;
    }
    if (untracked_ > 0 && now - untracked_since_ >= options_.interval) {
      lines.push_back(absl::StrCat(
          "aigw: protection: ", untracked_,
          " more limit hits from other clients in the last ",
          Seconds(now - untracked_since_), " (too many offenders to name)"));
      untracked_ = 0;
    }
  }
  for (const std::string& line : lines) sink_(line);
}

size_t OffenderLog::tracked() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace aigw
