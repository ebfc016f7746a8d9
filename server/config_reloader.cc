#include "server/config_reloader.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "providers/common/log.h"

namespace aigw {

ConfigReloader::ConfigReloader(std::string path, Gateway* gateway,
                               Listeners* listeners, StateRegistry* state,
                               Metrics* metrics)
    : path_(std::move(path)),
      gateway_(gateway),
      state_(state),
      metrics_(metrics),
      listeners_(listeners) {}

ConfigReloader::~ConfigReloader() {
  {
    absl::MutexLock lock(&watch_mu_);
    stop_ = true;
  }
  if (watcher_.joinable()) watcher_.join();
}

absl::Status ConfigReloader::Reload(absl::string_view trigger) {
  absl::MutexLock lock(&reload_mu_);
  absl::StatusOr<GatewayConfig> config =
      path_.empty() ? ParseConfig(kDefaultConfigYaml) : LoadConfigFile(path_);
  absl::Status status = config.status();
  absl::StatusOr<std::shared_ptr<const GatewaySnapshot>> snapshot;
  bool open_gateway = false;
  if (status.ok()) {
    open_gateway = config->consumers.empty();
    ListenConfig listen = config->listen;
    snapshot = BuildSnapshot(std::move(*config), *state_, *metrics_,
                             gateway_->snapshot().get());
    status = snapshot.status();
    // Listeners move before the new snapshot serves; a listener that cannot
    // bind rejects the whole reload.
    if (status.ok()) status = listeners_->Rebind(listen);
  }
  metrics_->RecordReload(status.ok(), absl::Now());
  if (!status.ok()) {
    Log(LogLevel::kError,
        absl::StrCat("reload (", trigger,
                     ") rejected, the previous config keeps serving: ",
                     status.message()),
        {{"trigger", trigger}, {"error", status.message()}});
    return status;
  }
  gateway_->SetSnapshot(std::move(*snapshot));
  std::string listening = listeners_->Describe();
  Log(LogLevel::kInfo,
      absl::StrCat("config reloaded (", trigger, "); listening ", listening),
      {{"trigger", trigger}, {"listening", listening}});
  if (open_gateway) {
    Log(LogLevel::kWarn,
        "no consumers configured: anyone who reaches the port may call");
  }
  return absl::OkStatus();
}

ConfigReloader::FileStamp ConfigReloader::Stamp() const {
  struct stat info;
  FileStamp stamp;
  if (stat(path_.c_str(), &info) != 0) return stamp;
  stamp.mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 +
                   info.st_mtim.tv_nsec;
  stamp.size = info.st_size;
  stamp.inode = info.st_ino;
  return stamp;
}

void ConfigReloader::WatchFile(absl::Duration interval) {
  if (path_.empty()) return;
  watcher_ = std::thread([this, interval] {
    FileStamp seen = Stamp();
    absl::MutexLock lock(&watch_mu_);
    while (!watch_mu_.AwaitWithTimeout(absl::Condition(&stop_), interval)) {
      FileStamp now = Stamp();
      if (now == seen || now.size < 0) continue;  // unchanged, or mid-rename
      seen = now;
      watch_mu_.Unlock();
      Reload("config file changed").IgnoreError();
      watch_mu_.Lock();
    }
  });
}

}  // namespace aigw
