#include "motion.h"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <math.h>
#include <util/atomic.h>
#include <util/delay.h>

#include "board.h"
#include "settings.h"

#define TICKS_PER_S 2000000.0 /* Timer1 at F_CPU / 8 */
#define START_DELAY 40        /* ticks from the DIR edge to the first STEP (20 µs) */
#define MIN_LEAD 16           /* ticks: a late compare is pushed at least this far ahead */

/* Half-step sequence for a 28BYJ-48 through a ULN2003 (IN1..IN4 = bits 0..3). */
static const uint8_t uln_phases[8] = {0x1, 0x3, 0x2, 0x6, 0x4, 0xC, 0x8, 0x9};

static volatile int32_t position;
static volatile uint8_t running, end_flag, stop_requested, enabled;
static int8_t dir;
static volatile uint32_t total;     /* steps in this move; motion_stop() may shorten it */
static volatile uint32_t done;      /* steps emitted so far */
static volatile uint32_t speed_idx; /* ramp index matching the current speed */
static uint32_t wait_left;          /* ticks still to wait before the next step (intervals > 16 bit) */
static float ramp_scale;            /* T(k) = ramp_scale * sqrt(k), ticks */
static uint32_t cruise;             /* ticks between steps at full speed */
static uint32_t ramp_len;           /* first ramp index whose interval is not above cruise */

/* Cached pair T(k), T(k+1) for each side of the profile: consecutive steps reuse one sqrt. */
typedef struct {
  uint32_t k, lo, hi;
  uint8_t ok;
} ramp_cache_t;
static ramp_cache_t acc_cache, dec_cache;

static uint32_t ramp_time(uint32_t k) {
  return (uint32_t)(ramp_scale * sqrt((double)k) + 0.5);
}

/* Interval from ramp step k to k+1: T(k+1) - T(k). */
static uint32_t ramp_interval(ramp_cache_t *c, uint32_t k) {
  if (c->ok && k == c->k + 1) {
    c->lo = c->hi;
    c->hi = ramp_time(k + 1);
  } else if (c->ok && k + 1 == c->k) {
    c->hi = c->lo;
    c->lo = ramp_time(k);
  } else if (!c->ok || k != c->k) {
    c->lo = ramp_time(k);
    c->hi = ramp_time(k + 1);
  }
  c->k = k;
  c->ok = 1;
  return c->hi - c->lo;
}

static void output_phase(void) {
  if (settings.mode != MODE_ULN2003) return;
  ULN_PORT = (ULN_PORT & ~ULN_MASK) | (enabled ? uln_phases[(uint8_t)position & 7] : 0);
}

void motion_enable(uint8_t on) {
  enabled = on;
  if (on)
    DRIVER_PORT &= ~_BV(EN_BIT);
  else
    DRIVER_PORT |= _BV(EN_BIT);
  if (settings.mode == MODE_ULN2003) {
    ULN_DDR |= ULN_MASK;
    output_phase();
  } else {
    ULN_PORT &= ~ULN_MASK;
    ULN_DDR &= ~ULN_MASK;
  }
}

uint8_t motion_enabled(void) {
  return enabled;
}

void motion_init(void) {
  /* STEP and DIR share pins with INT0/INT1 (disabled). Edge mode instead of the default "low level"
   * keeps simavr from polling the level of a low pin every cycle; the MCU itself does not care. */
  EICRA = _BV(ISC11) | _BV(ISC10) | _BV(ISC01) | _BV(ISC00);
  DRIVER_PORT |= _BV(EN_BIT);
  DRIVER_DDR |= _BV(STEP_BIT) | _BV(DIR_BIT) | _BV(EN_BIT);
  LED_DDR |= _BV(LED_BIT);
  TCCR1A = 0;
  TCCR1B = _BV(CS11); /* normal mode, F_CPU / 8 */
  motion_enable(0);
}

/* Next interval after step index n (0-based), the larger of accel, decel and cruise limits. */
static uint32_t next_interval(uint32_t n) {
  uint32_t iv = cruise, idx = ramp_len;
  if (n < ramp_len) {
    uint32_t a = ramp_interval(&acc_cache, n);
    if (a > iv) iv = a, idx = n;
  }
  uint32_t n_total = total;
  if (n + 2 <= n_total) {
    uint32_t m = n_total - 2 - n;
    if (m < ramp_len) {
      uint32_t d = ramp_interval(&dec_cache, m);
      if (d > iv) iv = d, idx = m;
    }
  }
  speed_idx = idx;
  return iv;
}

static void schedule(uint32_t iv) {
  uint16_t elapsed = TCNT1 - OCR1A;
  if (iv < (uint32_t)elapsed + MIN_LEAD) iv = (uint32_t)elapsed + MIN_LEAD;
  if (iv > 0xFFFF) {
    OCR1A += 0x8000;
    wait_left = iv - 0x8000;
  } else {
    OCR1A += (uint16_t)iv;
  }
}

ISR(TIMER1_COMPA_vect) {
  if (wait_left) {
    uint16_t chunk = wait_left > 0xFFFF ? 0x8000 : (uint16_t)wait_left;
    OCR1A += chunk;
    wait_left -= chunk;
    return;
  }
  DRIVER_PORT |= _BV(STEP_BIT);
  position += dir;
  output_phase();
  uint32_t n = done++;
  _delay_us(1);
  DRIVER_PORT &= ~_BV(STEP_BIT); /* high ≥ 2 µs: A4988 wants 1 µs, DRV8825 1.9 µs */
  if (done >= total) {
    TIMSK1 &= ~_BV(OCIE1A);
    running = 0;
    end_flag = stop_requested ? END_STOPPED : END_DONE;
    LED_PORT &= ~_BV(LED_BIT);
    return;
  }
  schedule(next_interval(n));
}

uint8_t motion_start(int32_t target) {
  if (running) return 0;
  int32_t delta = target - position;
  stop_requested = 0;
  if (delta == 0) {
    end_flag = END_DONE;
    return 1;
  }
  if (delta > 0) {
    dir = 1;
    DRIVER_PORT |= _BV(DIR_BIT);
  } else {
    dir = -1;
    DRIVER_PORT &= ~_BV(DIR_BIT);
  }
  if (!enabled) motion_enable(1);
  ramp_scale = TICKS_PER_S * sqrt(2.0 / (double)settings.accel);
  cruise = (uint32_t)(TICKS_PER_S / settings.max_speed + 0.5);
  /* Ramp length from T(k+1) - T(k) ≈ S / (2 sqrt k), then corrected to the exact integer. */
  double r = ramp_scale / (2.0 * cruise);
  ramp_len = (uint32_t)(r * r);
  acc_cache.ok = dec_cache.ok = 0;
  while (ramp_len > 0 && ramp_interval(&acc_cache, ramp_len - 1) <= cruise) ramp_len--;
  while (ramp_interval(&acc_cache, ramp_len) > cruise) ramp_len++;
  acc_cache.ok = 0;
  total = delta > 0 ? (uint32_t)delta : (uint32_t)-delta;
  done = 0;
  speed_idx = 0;
  wait_left = 0;
  end_flag = END_NONE;
  LED_PORT |= _BV(LED_BIT);
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    running = 1;
    OCR1A = TCNT1 + START_DELAY;
    TIFR1 = _BV(OCF1A);
    TIMSK1 |= _BV(OCIE1A);
  }
  return 1;
}

void motion_stop(void) {
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    if (running) {
      /* Decelerate from the current speed: the remaining steps mirror the ramp index reached. */
      uint32_t shortest = done + 1 + speed_idx;
      if (shortest < total) {
        total = shortest;
        dec_cache.ok = 0;
      }
      stop_requested = 1;
    }
  }
}

uint8_t motion_running(void) {
  return running;
}

int32_t motion_position(void) {
  int32_t p;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) p = position;
  return p;
}

uint8_t motion_set_position(int32_t steps) {
  if (running) return 0;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) position = steps;
  output_phase();
  return 1;
}

uint8_t motion_take_end(void) {
  uint8_t e;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) {
    e = end_flag;
    end_flag = END_NONE;
  }
  return e;
}
