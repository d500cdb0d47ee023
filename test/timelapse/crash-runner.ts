/**
 * Child process of the crash test: a station on the simulated microscope (real clock, small
 * frames) running one timelapse with the synthetic DeepFocus scorer; resumes the job in
 * `argv[2]` (state dir) or creates it, prints "running", and exits 0 once the job has finished.
 */
import { parseConfig } from "../../src/config/load.js";
import { RealClock } from "../../src/hardware/clock.js";
import { createDevices } from "../../src/hardware/index.js";
import { Station } from "../../src/station/station.js";
import { TimelapseManager } from "../../src/timelapse/manager.js";
import { syntheticDeepFocus } from "./rig.js";

const [stateDir, intervalMs, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const config = parseConfig({ stateDir, clock: "real", camera: { kind: "simulated", width: 64, height: 48, bitDepth: 12, fps: 240, exposureUs: 1000 }, stage: { backend: { kind: "simulated", settleMs: 2, maxSpeedUmPerS: 20_000, accelUmPerS2: 1_000_000 } }, microscope: { focusUm: 3, driftUmPerHour: 2000 } });
const clock = new RealClock();
const station = new Station(config, await createDevices(config, clock), clock);
await station.start();
const manager = new TimelapseManager(station, { deepfocus: syntheticDeepFocus(station.devices.microscope!) });
await manager.start();
if (manager.status().state === "idle") await manager.create({ intervalMs, count, autofocus: { policy: "tracking" }, capture: { zOffsetsUm: [0, 2] } });
process.stdout.write("running\n");
await manager.settled();
await manager.close();
await station.stop();
process.stdout.write(`${manager.status().state}\n`);
