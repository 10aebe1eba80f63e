#include "daemon/service_notify.hpp"

#include "common/log.hpp"

#include <spdlog/fmt/fmt.h>
#include <systemd/sd-daemon.h>

#include <time.h>

#include <atomic>
#include <cstring>
#include <string>

namespace mtasts::daemon {
namespace {

std::atomic<bool> warned{false};

// STATUS= is one line: a line break would start another assignment.
std::string statusLine(std::string_view status) {
  std::string out = "STATUS=";
  for (char c : status) out += (c == '\n' || c == '\r') ? ' ' : c;
  return out;
}

void send(const std::string& message) {
  const int rc = ::sd_notify(0, message.c_str());
  if (rc < 0 && !warned.exchange(true)) {
    moduleLogger("main")->debug("sd_notify failed error={}", std::strerror(-rc));
  }
}

std::uint64_t monotonicMicroseconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace

void notifyReady(std::string_view status) { send("READY=1\n" + statusLine(status)); }

void notifyReloading(std::string_view status) {
  send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\n{}", monotonicMicroseconds(), statusLine(status)));
}

void notifyStopping(std::string_view status) { send("STOPPING=1\n" + statusLine(status)); }

void notifyStatus(std::string_view status) { send(statusLine(status)); }

}  // namespace mtasts::daemon
