#include "server/protection/offender_log.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "providers/common/log.h"

namespace aigw {
namespace {

void WriteToLog(const OffenderLog::Report& report) {
  if (report.client.empty()) {
    Log(LogLevel::kWarn, report.line, {{"held", report.held}});
  } else {
    Log(LogLevel::kWarn, report.line,
        {{"client", report.client},
         {"reason", report.reason},
         {"held", report.held}});
  }
}

std::string Seconds(absl::Duration d) {
  return absl::StrCat(absl::ToInt64Seconds(d + absl::Milliseconds(500)), "s");
}

OffenderLog::Report Hit(const IpAddress& client, RejectReason reason) {
  OffenderLog::Report report;
  report.client = client.DescribeClient();
  report.reason = RejectReasonName(reason);
  report.line =
      absl::StrCat("protection: ", report.client, " hit ", report.reason);
  return report;
}

}  // namespace

OffenderLog::OffenderLog(const Options& options, Sink sink)
    : options_(options), sink_(sink ? std::move(sink) : Sink(WriteToLog)) {}

void OffenderLog::Record(const IpAddress& client, RejectReason reason,
                         absl::Time now) {
  Report report;
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
      report = Hit(client, reason);
    } else if (now - it->second.logged < options_.interval) {
      it->second.held++;
      return;
    } else {
      report = Hit(client, reason);
      report.held = it->second.held;
      if (report.held > 0) {
        absl::StrAppend(&report.line, " (and ", report.held,
                        " more times in the last ",
                        Seconds(now - it->second.logged), ")");
      }
      it->second = {now, 0};
    }
  }
  sink_(report);
}

void OffenderLog::Flush(absl::Time now) {
  std::vector<Report> reports;
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
      Report report = Hit(it->first.first, it->first.second);
      report.held = entry.held;
      absl::StrAppend(&report.line, " ", entry.held, " more times in the last ",
                      Seconds(now - entry.logged));
      reports.push_back(std::move(report));
      entry = {now, 0};
      ++it;
    }
    if (untracked_ > 0 && now - untracked_since_ >= options_.interval) {
      Report report;
      report.held = untracked_;
      report.line = absl::StrCat(
          "protection: ", untracked_,
          " more limit hits from other clients in the last ",
          Seconds(now - untracked_since_), " (too many offenders to name)");
      reports.push_back(std::move(report));
      untracked_ = 0;
    }
  }
  for (const Report& report : reports) sink_(report);
}

size_t OffenderLog::tracked() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace aigw
