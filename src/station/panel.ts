import type { Button } from "../hardware/button/types.js";
import type { Led } from "../hardware/led/types.js";
import type { Station } from "./station.js";

/**
 * The front panel: the LED follows the station state (idle / busy / error); a short press
 * runs an autofocus, a long press cancels (or calibrates, by `longPressAction`). Presses
 * while busy that would start an operation are ignored (the web answers 409; a button
 * cannot). Returns the function that detaches it (and switches the LED off).
 */
export function attachPanel(station: Station, devices: { button?: Button; led?: Led }, longPressAction: "cancel" | "calibrate"): () => void {
  const { button, led } = devices;
  led?.set(station.state());
  const offState = station.events.on("state", ({ state }) => led?.set(state));
  const ignore = () => undefined;
  const offPress = button?.onPress(({ kind }) => {
    if (kind === "short") station.autofocus().catch(ignore);
    else if (longPressAction === "cancel" || station.state() === "busy") station.cancel().catch(ignore);
    else station.calibrate().catch(ignore);
  });
  return () => {
    offPress?.();
    offState();
    led?.set("off");
  };
}
