import { spawn } from "node:child_process";

/**
 * sd_notify without a native addon. Node cannot send unix datagrams, so the message goes
 * through `systemd-notify` (systemd ≥ 246 waits for the manager to process it — the
 * sd_notify_barrier handshake — so its exit no longer races the message). A helper process is
 * not the main PID: the unit needs `NotifyAccess=all`. Without `NOTIFY_SOCKET` nothing is sent.
 */
export class SystemdNotifier {
  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly command = "systemd-notify",
  ) {}

  get enabled(): boolean {
    return Boolean(this.env.NOTIFY_SOCKET);
  }

  /**
   * Half of the unit's WatchdogSec (from `WATCHDOG_USEC`), or null when the watchdog is off
   * or meant for another process (`WATCHDOG_PID`).
   */
  watchdogIntervalMs(): number | null {
    const usec = Number(this.env.WATCHDOG_USEC);
    if (!this.enabled || !(usec > 0)) return null;
    if (this.env.WATCHDOG_PID && Number(this.env.WATCHDOG_PID) !== process.pid) return null;
    return usec / 1000 / 2;
  }

  /** Sends `KEY=value` assignments (READY=1, STATUS=…, WATCHDOG=1, STOPPING=1); resolves whether they were delivered. */
  notify(...assignments: string[]): Promise<boolean> {
    if (!this.enabled) return Promise.resolve(false);
    return new Promise((resolve) => {
      const child = spawn(this.command, assignments, { stdio: "ignore", env: this.env });
      child.on("error", () => resolve(false));
      child.on("exit", (code) => resolve(code === 0));
    });
  }

  /**
   * Pings WATCHDOG=1 every half WatchdogSec while `healthy()` holds; a blocked event loop
   * or an unhealthy station stops the pings and systemd restarts the service. Returns stop.
   */
  startWatchdog(healthy: () => boolean): () => void {
    const intervalMs = this.watchdogIntervalMs();
    if (intervalMs === null) return () => undefined;
    const timer = setInterval(() => {
      if (healthy()) void this.notify("WATCHDOG=1");
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
