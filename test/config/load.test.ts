import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, parseConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";

describe("config", () => {
  it("defaults run the simulated microscope", () => {
    const config = parseConfig({});
    expect(config.camera.kind).toBe("simulated");
    expect(config.stage.backend.kind).toBe("simulated");
    expect(config.server.port).toBe(8080);
    expect(config.autofocus.roi).toMatchObject({ cols: 3, rows: 3 });
  });

  it("accepts every config example of the README (the board guides and the replay example)", async () => {
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    const examples = [...readme.matchAll(/^```json\n([\s\S]*?)^```/gm)].map((m) => m[1]);
    expect(examples.length).toBeGreaterThanOrEqual(4);
    for (const text of examples) expect(() => parseConfig(JSON.parse(text)), text).not.toThrow();
  });

  it("names the dotted path and the expected value of every error", () => {
    let error: ConfigError | undefined;
    try {
      parseConfig({ server: { port: "x" }, autofocus: { roi: { cols: 0 } }, camera: { kind: "nope" } });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = error!.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["server.port", "autofocus.roi.cols", "camera.kind"]));
    expect(error!.message).toMatch(/server\.port: .*expected number/);
  });

  it("names a misspelt key, at any level and in any camera or stage kind, instead of dropping it", () => {
    let error: ConfigError | undefined;
    try {
      parseConfig({ sever: { port: 1 }, server: { prot: 1 }, camera: { kind: "simulated", widht: 640 }, stage: { backend: { kind: "simulated", speedUmPerS: 1 } } });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.issues.map((i) => i.path)).toEqual(expect.arrayContaining(["sever", "server.prot", "camera.widht", "stage.backend.speedUmPerS"]));
    expect(error!.message).toMatch(/server\.prot: unknown key/);
  });

  it("rejects cross-field nonsense", () => {
    expect(() => parseConfig({ stage: { minUm: 10, maxUm: -10 } })).toThrow(/minUm must be below stage.maxUm/);
    expect(() => parseConfig({ autofocus: { roi: { x: 0.8, width: 0.5 } } })).toThrow(/inside the frame/);
  });

  it("applies FOCUSBOX_* env overrides with __ between levels", () => {
    const config = parseConfig({ server: { port: 9000 } }, { FOCUSBOX_SERVER__PORT: "9100", FOCUSBOX_MICROSCOPE__SAMPLE: "beads", FOCUSBOX_STATE_DIR: "/var/lib/fb" });
    expect(config.server.port).toBe(9100);
    expect(config.microscope.sample).toBe("beads");
    expect(config.stateDir).toBe("/var/lib/fb");
    // variables whose first level is no config key belong to someone else; below it, a typo is an error
    expect(() => parseConfig({}, { FOCUSBOX_DEBUG: "1", FOCUSBOX_CONFIG: "/etc/focusbox.json", FOCUSBOX_PARITY_DIR: "/tmp" })).not.toThrow();
    expect(() => parseConfig({}, { FOCUSBOX_SERVER__PROT: "9100" })).toThrow(/server\.prot: unknown key/);
  });

  it("reports unreadable and malformed files clearly", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fb-config-"));
    await writeFile(join(dir, "bad.json"), "{ nope");
    await expect(loadConfig(join(dir, "bad.json"), {})).rejects.toThrow(/not valid JSON/);
    await expect(loadConfig(join(dir, "missing.json"), {})).rejects.toThrow(/cannot read config file/);
  });
});

describe("config device pairing", () => {
  it("refuses a replay camera on the simulated stage", () => {
    expect(() => parseConfig({ camera: { kind: "replay", stackDir: "/tmp/x" } })).toThrow(/stage\.backend\.kind: camera.kind "replay" and stage.backend.kind "simulated" do not fit/);
  });
});

describe("objective", () => {
  it("refuses an NA at or above the immersion index", () => {
    expect(() => parseConfig({ objective: { na: 1.2 } })).toThrow(/objective\.na: objective.na must be below/);
    expect(parseConfig({ objective: { na: 1.2, immersionIndex: 1.518 } }).objective.na).toBe(1.2);
  });
});
