// systemd's service notification protocol (sd_notify(3)) for Type=notify: READY=1 once the
// daemon serves, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 when it drains, and a
// STATUS= line with each. Every call is a no-op when NOTIFY_SOCKET is not set (not started
// by systemd); a failed send is logged once at debug and otherwise ignored: readiness is
// systemd's concern, never a reason to stop serving. Loop thread (any thread is safe).
#pragma once

#include <string_view>

namespace mtasts::daemon {

void notifyReady(std::string_view status);
// RELOADING=1 with MONOTONIC_USEC (systemd >= 253 wants it with Type=notify-reload; 252, in
// Debian 12, takes RELOADING=1 and ignores the field it does not know).
void notifyReloading(std::string_view status);
void notifyStopping(std::string_view status);
void notifyStatus(std::string_view status);

}  // namespace mtasts::daemon
