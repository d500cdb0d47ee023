import { parseConfig } from "../src/config/load.js";
import type { ConfigInput } from "../src/config/schema.js";
import { VirtualClock } from "../src/hardware/clock.js";
import { createDevices } from "../src/hardware/index.js";
import { Station } from "../src/station/station.js";

/** A started station on the simulated microscope with a virtual clock (instant, deterministic). */
export async function simulatedStation(overrides: ConfigInput = {}): Promise<Station> {
  const config = parseConfig({ clock: "virtual", ...overrides });
  const clock = new VirtualClock();
  const station = new Station(config, await createDevices(config, clock), clock);
  await station.start();
  return station;
}
