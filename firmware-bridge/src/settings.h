/* Persistent settings: one EEPROM record with a layout version and a CRC-16. */
#ifndef SETTINGS_H
#define SETTINGS_H

#include <stdint.h>

#define SETTINGS_VERSION 1

enum { MODE_STEPDIR = 0, MODE_ULN2003 = 1 };

typedef struct {
  uint8_t version;
  uint16_t max_speed;   /* steps/s */
  uint32_t accel;       /* steps/s^2 */
  uint8_t mode;         /* MODE_STEPDIR or MODE_ULN2003 */
  uint8_t hold;         /* keep the motor energised after a move */
  uint16_t debounce_ms; /* button debounce */
  uint16_t crc;         /* CRC-16 (avr-libc _crc16_update) of every byte before it */
} settings_t;

extern settings_t settings;

/* Loads the EEPROM record; falls back to defaults (returns 0) when it is blank, of another version or corrupt. */
uint8_t settings_load(void);
/* Writes the record (only the bytes that changed). */
void settings_save(void);
void settings_defaults(void);

#endif
