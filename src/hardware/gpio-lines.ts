import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { DeviceError } from "../errors.js";

/**
 * GPIO lines for the stage, button and LED backends through `node-libgpiod` (character device,
 * any board) or `onoff` (sysfs). Both are optional native packages, imported only here and
 * only when a backend starts; tests inject fakes of their API instead (`lib`).
 *
 * The chip is found by its label or name, never by a hard-coded number: on a Pi 5 the header
 * GPIOs are on the RP1 chip (`pinctrl-rp1`), which is gpiochip4 on older kernels and gpiochip0
 * on newer ones, and whose sysfs base is 571 rather than 0; on a Pi 4 it is `pinctrl-bcm2711`,
 * on a Jetson Orin `tegra234-gpio` (where header lines are best given by name, e.g. "PQ.05").
 */

/** Chip labels of the 40-pin header's GPIO controller, tried in order by `chip: "auto"`. */
export const HEADER_CHIP_LABELS = ["pinctrl-rp1", "pinctrl-bcm2711", "pinctrl-bcm2835", "tegra234-gpio", "tegra194-gpio", "tegra-gpio"];

export type GpioLibrary = "libgpiod" | "onoff";

/** Where a device's lines are: shared by the stage, button and LED option types. */
export interface GpioChipOptions {
  library: GpioLibrary;
  /** Chip label ("pinctrl-rp1"), name ("gpiochip4"), or "auto" for the header's controller. */
  chip: string;
}

/** A line: its offset on the chip, or (libgpiod only) its name, e.g. "GPIO17" on a Pi 5. */
export type GpioPin = number | string;

export interface OutputLine {
  write(level: 0 | 1): void;
  release(): void;
}

export interface InputLine {
  read(): 0 | 1;
  release(): void;
}

export interface GpioLines {
  /** e.g. `gpiochip4 (pinctrl-rp1)`, for messages. */
  readonly chip: string;
  output(pin: GpioPin, initial: 0 | 1): OutputLine;
  /** `pull` is applied with libgpiod (kernel ≥ 5.5); sysfs/onoff cannot set pulls and ignores it. */
  input(pin: GpioPin, pull: "up" | "down" | "none"): InputLine;
}

/** The slice of node-libgpiod (≥ 0.5) used here. */
export interface LibgpiodModule {
  getChipNames(): string[];
  Chip: new (name: string) => LibgpiodChip;
  Line: (new (chip: LibgpiodChip, offset: number) => LibgpiodLine) & { RequestFlags?: { BIAS_PULL_UP: number; BIAS_PULL_DOWN: number; BIAS_DISABLE: number } };
}
export interface LibgpiodChip {
  readonly name: string;
  readonly label: string;
  readonly numberOfLines: number;
  readonly lineNames?: string[];
}
export interface LibgpiodLine {
  requestOutputMode(consumer?: string, defaultValue?: 0 | 1): void;
  requestInputMode(consumer?: string): void;
  requestInputModeFlags?(consumer: string, flags: number): void;
  getValue(): 0 | 1;
  setValue(value: number): void;
  release(): void;
}

/** The slice of onoff used here. */
export interface OnoffModule {
  Gpio: (new (gpio: number, direction: "in" | "out" | "high" | "low") => OnoffGpio) & { accessible?: boolean };
}
export interface OnoffGpio {
  readSync(): 0 | 1;
  writeSync(value: 0 | 1): void;
  unexport(): void;
}

export interface GpioLinesDeps {
  /** A module object to use instead of importing the native package (tests). */
  lib?: LibgpiodModule | OnoffModule;
  /** sysfs GPIO class directory, for onoff chip lookup. */
  sysfsRoot?: string;
}

export const PACKAGE_OF: Record<GpioLibrary, string> = { libgpiod: "node-libgpiod", onoff: "onoff" };

const INSTALL_HINT: Record<string, string> = {
  "node-libgpiod": "sudo apt install libgpiod-dev && npm install node-libgpiod",
  onoff: "npm install onoff (needs the kernel's sysfs GPIO interface)",
  pigpio: "sudo apt install pigpio && npm install pigpio (Raspberry Pi 1–4 only; on a Pi 5 use the gpiod backend)",
};

/** The first line of an error's message (native libraries can be verbose). */
export function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split("\n")[0];
}

/**
 * Imports an optional native package; when it is missing or does not load, throws one
 * DeviceError line naming what to install.
 */
export async function importNative<T>(pkg: string, device: string): Promise<T> {
  try {
    const mod = (await import(/* @vite-ignore */ pkg)) as { default?: T } & T;
    return (mod.default ?? mod) as T;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const missing = code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" || /Cannot find (package|module)|Failed to (load|resolve)/i.test(firstLine(err));
    const what = missing ? `the "${pkg}" package is not installed` : `the "${pkg}" package failed to load (${firstLine(err)})`;
    throw new DeviceError(`${device}: ${what}; install it: ${INSTALL_HINT[pkg] ?? `npm install ${pkg}`}`, device, { cause: err });
  }
}

function pickChip<C extends { name: string; label: string }>(chips: C[], wanted: string, device: string): C {
  const found = wanted === "auto"
    ? HEADER_CHIP_LABELS.map((label) => chips.find((c) => c.label === label)).find((c) => c !== undefined)
    : chips.find((c) => c.label === wanted || c.name === wanted || `/dev/${c.name}` === wanted);
  if (found) return found;
  const list = chips.map((c) => `${c.name} (${c.label})`).join(", ") || "none";
  throw new DeviceError(`${device}: no GPIO chip ${wanted === "auto" ? "for the 40-pin header" : `"${wanted}"`} among: ${list}; set the chip option`, device);
}

async function openLibgpiod(lib: LibgpiodModule, wanted: string, device: string): Promise<GpioLines> {
  let chips: LibgpiodChip[];
  try {
    chips = lib.getChipNames().map((name) => new lib.Chip(name));
  } catch (err) {
    throw new DeviceError(`${device}: cannot open the GPIO chips (${firstLine(err)}); add the user to the "gpio" group`, device, { cause: err });
  }
  const chip = pickChip(chips, wanted, device);
  const offsetOf = (pin: GpioPin): number => {
    const offset = typeof pin === "number" ? pin : (chip.lineNames ?? []).indexOf(pin);
    if (!(offset >= 0 && offset < chip.numberOfLines)) throw new DeviceError(`${device}: ${chip.name} (${chip.label}) has no line ${JSON.stringify(pin)}`, device);
    return offset;
  };
  const request = (pin: GpioPin, how: (line: LibgpiodLine) => void): LibgpiodLine => {
    const line = new lib.Line(chip, offsetOf(pin));
    try {
      how(line);
    } catch (err) {
      throw new DeviceError(`${device}: cannot request line ${pin} of ${chip.name} (${firstLine(err)}); is it used by another process?`, device, { cause: err });
    }
    return line;
  };
  const flags = lib.Line.RequestFlags;
  return {
    chip: `${chip.name} (${chip.label})`,
    output(pin, initial) {
      const line = request(pin, (l) => l.requestOutputMode("focusbox", initial));
      return { write: (level) => line.setValue(level), release: () => line.release() };
    },
    input(pin, pull) {
      const bias = flags && { up: flags.BIAS_PULL_UP, down: flags.BIAS_PULL_DOWN, none: flags.BIAS_DISABLE }[pull];
      const line = request(pin, (l) => (bias !== undefined && l.requestInputModeFlags ? l.requestInputModeFlags("focusbox", bias) : l.requestInputMode("focusbox")));
      return { read: () => line.getValue(), release: () => line.release() };
    },
  };
}

async function sysfsChips(root: string): Promise<{ name: string; label: string; base: number; ngpio: number }[]> {
  const names = (await readdir(root).catch(() => [] as string[])).filter((n) => n.startsWith("gpiochip"));
  const read = (name: string, field: string) => readFile(join(root, name, field), "utf8").then((s) => s.trim());
  return Promise.all(names.map(async (name) => ({ name, label: await read(name, "label"), base: Number(await read(name, "base")), ngpio: Number(await read(name, "ngpio")) })));
}

async function openOnoff(lib: OnoffModule, wanted: string, device: string, root: string): Promise<GpioLines> {
  if (lib.Gpio.accessible === false)
    throw new DeviceError(`${device}: sysfs GPIO is not accessible (${root}); add the user to the "gpio" group or use library "libgpiod"`, device);
  const chip = pickChip(await sysfsChips(root), wanted, device);
  const open = (pin: GpioPin, direction: "in" | "low" | "high"): OnoffGpio => {
    if (typeof pin !== "number" || !(pin >= 0 && pin < chip.ngpio))
      throw new DeviceError(`${device}: onoff needs a line offset below ${chip.ngpio} on ${chip.name} (${chip.label}), got ${JSON.stringify(pin)}`, device);
    try {
      return new lib.Gpio(chip.base + pin, direction);
    } catch (err) {
      throw new DeviceError(`${device}: cannot export GPIO ${chip.base + pin} (line ${pin} of ${chip.label}): ${firstLine(err)}`, device, { cause: err });
    }
  };
  return {
    chip: `${chip.name} (${chip.label})`,
    output(pin, initial) {
      const gpio = open(pin, initial ? "high" : "low");
      return { write: (level) => gpio.writeSync(level), release: () => gpio.unexport() };
    },
    input(pin) {
      const gpio = open(pin, "in");
      return { read: () => gpio.readSync(), release: () => gpio.unexport() };
    },
  };
}

/** Loads the library (or takes the injected one) and finds the chip; throws one DeviceError line on any failure. */
export async function openGpioLines(options: GpioChipOptions, device: string, deps: GpioLinesDeps = {}): Promise<GpioLines> {
  const lib = deps.lib ?? (await importNative<LibgpiodModule | OnoffModule>(PACKAGE_OF[options.library], device));
  return options.library === "libgpiod"
    ? openLibgpiod(lib as LibgpiodModule, options.chip, device)
    : openOnoff(lib as OnoffModule, options.chip, device, deps.sysfsRoot ?? "/sys/class/gpio");
}
