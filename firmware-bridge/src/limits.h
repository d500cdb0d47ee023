/*
 * Firmware identity and setting limits. Shared with the host: src/hardware/serial-bridge/protocol.ts
 * mirrors FIRMWARE_NAME, PROTOCOL_VERSION and the limits below; PROTOCOL.md documents them.
 */
#ifndef LIMITS_H
#define LIMITS_H

#define FIRMWARE_NAME "focusbox-bridge"
#define FIRMWARE_VERSION "1.0.0"
#define PROTOCOL_VERSION 1

#define SPEED_MIN 1UL          /* steps/s */
#define SPEED_MAX 12000UL      /* steps/s: step ISR budget during ramps at 16 MHz */
#define ACCEL_MIN 1UL          /* steps/s^2 */
#define ACCEL_MAX 2000000UL    /* steps/s^2 */
#define POSITION_LIMIT 1000000000L /* |position| and |target| bound, steps */
#define DEBOUNCE_MIN 1U        /* ms */
#define DEBOUNCE_MAX 500U      /* ms */

#define SPEED_DEFAULT 2000UL
#define ACCEL_DEFAULT 20000UL
#define DEBOUNCE_DEFAULT 20U

#endif
