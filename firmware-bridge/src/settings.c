#include "settings.h"

#include <avr/eeprom.h>
#include <stddef.h>
#include <util/crc16.h>

#include "limits.h"

settings_t settings;
static settings_t EEMEM stored;

static uint16_t crc_of(const settings_t *s) {
  const uint8_t *p = (const uint8_t *)s;
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < offsetof(settings_t, crc); i++) crc = _crc16_update(crc, p[i]);
  return crc;
}

static uint8_t valid(const settings_t *s) {
  return s->version == SETTINGS_VERSION && s->crc == crc_of(s) && s->max_speed >= SPEED_MIN &&
         s->max_speed <= SPEED_MAX && s->accel >= ACCEL_MIN && s->accel <= ACCEL_MAX && s->mode <= MODE_ULN2003 &&
         s->hold <= 1 && s->debounce_ms >= DEBOUNCE_MIN && s->debounce_ms <= DEBOUNCE_MAX;
}

void settings_defaults(void) {
  settings.version = SETTINGS_VERSION;
  settings.max_speed = SPEED_DEFAULT;
  settings.accel = ACCEL_DEFAULT;
  settings.mode = MODE_STEPDIR;
  settings.hold = 1;
  settings.debounce_ms = DEBOUNCE_DEFAULT;
}

uint8_t settings_load(void) {
  eeprom_read_block(&settings, &stored, sizeof settings);
  if (valid(&settings)) return 1;
  settings_defaults();
  return 0;
}

void settings_save(void) {
  settings.version = SETTINGS_VERSION;
  settings.crc = crc_of(&settings);
  eeprom_update_block(&settings, &stored, sizeof settings);
}
