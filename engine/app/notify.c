/*
 * systemd's notification protocol through libsystemd's sd_notify
 * (Type=notify in ops/sanhe-engine.service): READY=1 once the engine
 * listens, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 when a stop
 * begins, and WATCHDOG=1 every half WatchdogSec from a timer on the loop:
 * a loop that no longer turns (a hang) stops the pings and systemd
 * restarts the engine. Outside systemd (no NOTIFY_SOCKET) every call is a
 * no-op.
 */
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "app.h"
#include "net_log.h"

static uv_timer_t notify_watchdog;
static bool notify_watchdog_on;

static void notify_on_watchdog(uv_timer_t *timer)
{
    (void)timer;
    sd_notify(0, "WATCHDOG=1");
}

void app_notify_ready(uv_loop_t *loop, const char *status)
{
    char msg[256];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status);
    sd_notify(0, msg);
    uint64_t usec = 0;
    if (notify_watchdog_on || sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return;
    uint64_t every_ms = usec / 2000 > 0 ? usec / 2000 : 1;
    uv_timer_init(loop, &notify_watchdog);
    uv_timer_start(&notify_watchdog, notify_on_watchdog, every_ms, every_ms);
    uv_unref((uv_handle_t *)&notify_watchdog); /* never keeps the loop alive */
    notify_watchdog_on = true;
    net_log(NET_LOG_INFO, "systemd watchdog: a ping every %llu ms", (unsigned long long)every_ms);
}

void app_notify_reloading(bool begin) { sd_notify(0, begin ? "RELOADING=1" : "READY=1"); }

/* The watchdog pings go on while the stop drains (TimeoutStopSec bounds it). */
void app_notify_stopping(void) { sd_notify(0, "STOPPING=1"); }

void app_notify_close(void)
{
    if (notify_watchdog_on)
        uv_close((uv_handle_t *)&notify_watchdog, NULL);
    notify_watchdog_on = false;
}
