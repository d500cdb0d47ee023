/*
 * focusbox bridge: one focus stepper and one push button behind a line protocol on the UART.
 * PROTOCOL.md is the reference for every line this file reads or writes.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/sleep.h>
#include <avr/wdt.h>
#include <stdlib.h>
#include <string.h>
#include <util/atomic.h>

#include "board.h"
#include "limits.h"
#include "motion.h"
#include "settings.h"
#include "uart.h"

#define LINE_MAX 48

static uint8_t reset_cause __attribute__((section(".noinit")));
static volatile uint32_t ticks_ms;

/* Runs before main: saves and clears the reset flags and stops a watchdog left running by a WDT reset. */
void early_init(void) __attribute__((naked, used, section(".init3")));
void early_init(void) {
  reset_cause = MCUSR;
  MCUSR = 0;
  wdt_disable();
}

ISR(TIMER0_COMPA_vect) {
  ticks_ms++;
}

static uint32_t millis(void) {
  uint32_t t;
  ATOMIC_BLOCK(ATOMIC_RESTORESTATE) t = ticks_ms;
  return t;
}

static void line_ok(void) {
  uart_puts("ok");
  uart_eol();
}

static void reply_u32(uint32_t v) {
  uart_puts("ok ");
  uart_put_u32(v);
  uart_eol();
}

static void reply_error(const char *code, const char *detail) {
  uart_puts("error ");
  uart_puts(code);
  if (detail) {
    uart_putc(' ');
    uart_puts(detail);
  }
  uart_eol();
}

static void banner(void) {
  const char *cause = (reset_cause & _BV(WDRF))    ? "watchdog"
                      : (reset_cause & _BV(BORF))  ? "brownout"
                      : (reset_cause & _BV(EXTRF)) ? "external"
                      : (reset_cause & _BV(PORF))  ? "power"
                                                   : "unknown";
  uart_puts("event boot " FIRMWARE_NAME " " FIRMWARE_VERSION " proto ");
  uart_put_u32(PROTOCOL_VERSION);
  uart_puts(" reset=");
  uart_puts(cause);
  uart_eol();
}

/* Strict decimal integer: optional sign, 1..10 digits, nothing after. */
static uint8_t parse_i32(const char *s, int32_t *out) {
  if (!s) return 0;
  uint8_t neg = 0, digits = 0;
  if (*s == '-' || *s == '+') neg = *s++ == '-';
  int64_t v = 0;
  for (; *s; s++, digits++) {
    if (*s < '0' || *s > '9' || digits >= 10) return 0;
    v = v * 10 + (*s - '0');
  }
  if (!digits || v > 2147483647LL) return 0;
  *out = neg ? -(int32_t)v : (int32_t)v;
  return 1;
}

/* Parses arg into [lo, hi]; answers the error itself and returns 0 on failure. */
static uint8_t arg_in(const char *arg, int32_t lo, int32_t hi, int32_t *out) {
  if (!parse_i32(arg, out)) {
    reply_error("bad-argument", arg ? "not an integer" : "missing");
    return 0;
  }
  if (*out < lo || *out > hi) {
    reply_error("range", 0);
    return 0;
  }
  return 1;
}

static uint8_t idle_or_busy(void) {
  if (!motion_running()) return 1;
  reply_error("busy", "moving");
  return 0;
}

static void move(int32_t target) {
  if (target < -POSITION_LIMIT || target > POSITION_LIMIT) return reply_error("range", 0);
  if (!motion_start(target)) return reply_error("busy", "moving");
  line_ok();
}

static void status(void) {
  uart_puts("ok pos=");
  uart_put_i32(motion_position());
  uart_puts(" moving=");
  uart_put_u32(motion_running());
  uart_puts(" en=");
  uart_put_u32(motion_enabled());
  uart_puts(" speed=");
  uart_put_u32(settings.max_speed);
  uart_puts(" accel=");
  uart_put_u32(settings.accel);
  uart_puts(" mode=");
  uart_put_u32(settings.mode);
  uart_puts(" hold=");
  uart_put_u32(settings.hold);
  uart_puts(" debounce=");
  uart_put_u32(settings.debounce_ms);
  uart_eol();
}

/* A setting command: "name?" reads it, "name <v>" sets it (RAM only until "save"). */
static void setting(const char *arg, uint8_t query, int32_t lo, int32_t hi, uint8_t idle_only, uint32_t *value) {
  if (query) return reply_u32(*value);
  int32_t v;
  if (idle_only && !idle_or_busy()) return;
  if (!arg_in(arg, lo, hi, &v)) return;
  *value = (uint32_t)v;
  line_ok();
}

static void handle_settings(const char *cmd, const char *arg, uint8_t query) {
  uint32_t v;
  if (!strcmp(cmd, "speed")) {
    v = settings.max_speed;
    setting(arg, query, SPEED_MIN, SPEED_MAX, 1, &v);
    settings.max_speed = v;
  } else if (!strcmp(cmd, "accel")) {
    v = settings.accel;
    setting(arg, query, ACCEL_MIN, ACCEL_MAX, 1, &v);
    settings.accel = v;
  } else if (!strcmp(cmd, "mode")) {
    v = settings.mode;
    setting(arg, query, MODE_STEPDIR, MODE_ULN2003, 1, &v);
    if (v != settings.mode) {
      settings.mode = v;
      motion_enable(motion_enabled());
    }
  } else if (!strcmp(cmd, "hold")) {
    v = settings.hold;
    setting(arg, query, 0, 1, 0, &v);
    settings.hold = v;
  } else if (!strcmp(cmd, "debounce")) {
    v = settings.debounce_ms;
    setting(arg, query, DEBOUNCE_MIN, DEBOUNCE_MAX, 0, &v);
    settings.debounce_ms = v;
  } else if (!strcmp(cmd, "en")) {
    v = motion_enabled();
    setting(arg, query, 0, 1, 1, &v);
    if (v != motion_enabled()) motion_enable(v);
  } else {
    reply_error("unknown-command", cmd);
  }
}

static void handle(char *line) {
  char *cmd = strtok(line, " \t");
  if (!cmd) return; /* blank line: nothing to answer */
  char *arg = strtok(0, " \t");
  if (arg && strtok(0, " \t")) return reply_error("bad-argument", "too many arguments");
  size_t len = strlen(cmd);
  uint8_t query = len > 1 && cmd[len - 1] == '?';
  if (query) {
    cmd[len - 1] = 0;
    if (arg) return reply_error("bad-argument", "a query takes no argument");
  }
  int32_t v;
  if (!strcmp(cmd, "version")) {
    uart_puts("ok " FIRMWARE_NAME " " FIRMWARE_VERSION " proto ");
    uart_put_u32(PROTOCOL_VERSION);
    uart_eol();
  } else if (!query && !strcmp(cmd, "mr")) {
    if (arg_in(arg, -POSITION_LIMIT, POSITION_LIMIT, &v)) move(motion_position() + v);
  } else if (!query && !strcmp(cmd, "ma")) {
    if (arg_in(arg, -POSITION_LIMIT, POSITION_LIMIT, &v)) move(v);
  } else if (!strcmp(cmd, "p") || !strcmp(cmd, "pos")) {
    uart_puts("ok ");
    uart_put_i32(motion_position());
    uart_eol();
  } else if (!strcmp(cmd, "moving")) {
    reply_u32(motion_running());
  } else if (!strcmp(cmd, "status")) {
    status();
  } else if (!query && !strcmp(cmd, "stop")) {
    motion_stop();
    line_ok();
  } else if (!query && (!strcmp(cmd, "zero") || !strcmp(cmd, "setpos"))) {
    v = 0;
    if (cmd[0] == 's' && !arg_in(arg, -POSITION_LIMIT, POSITION_LIMIT, &v)) return;
    if (cmd[0] == 'z' && arg) return reply_error("bad-argument", "zero takes no argument");
    if (!motion_set_position(v)) return reply_error("busy", "moving");
    line_ok();
  } else if (!query && !strcmp(cmd, "save")) {
    settings_save();
    line_ok();
  } else if (!query && !strcmp(cmd, "defaults")) {
    if (!idle_or_busy()) return;
    settings_defaults();
    motion_enable(motion_enabled());
    line_ok();
  } else if (!query && !strcmp(cmd, "help")) {
    uart_puts("ok version p mr ma stop moving? status zero setpos speed accel mode hold debounce en save defaults wdt-test");
    uart_eol();
  } else if (!query && !strcmp(cmd, "wdt-test")) {
    line_ok(); /* then hang: the watchdog must reset the board (banner reset=watchdog) */
    uart_flush();
    cli();
    for (;;) {
    }
  } else {
    handle_settings(cmd, arg, query);
  }
}

static void poll_uart(void) {
  static char line[LINE_MAX + 1];
  static uint8_t len, overflow;
  int16_t c;
  while ((c = uart_getc()) >= 0) {
    if (c == '\n') {
      line[len] = 0;
      if (overflow)
        reply_error("line-too-long", 0);
      else
        handle(line);
      len = overflow = 0;
    } else if (c != '\r') {
      if (len < LINE_MAX)
        line[len++] = (char)c;
      else
        overflow = 1;
    }
  }
}

static void poll_motion(void) {
  uint8_t end = motion_take_end();
  if (!end) return;
  if (!settings.hold) motion_enable(0);
  uart_puts(end == END_STOPPED ? "event stopped " : "event done ");
  uart_put_i32(motion_position());
  uart_eol();
}

/* Debounce: the pin must read the same for debounce_ms before a change counts. One event per press, on release. */
static void poll_button(void) {
  static uint32_t last_ms, pressed_at;
  static uint16_t stable_for;
  static uint8_t raw_last, state = 0xFF; /* unknown until the first stable reading */
  uint32_t now = millis();
  if (now == last_ms) return;
  last_ms = now;
  uint8_t raw = !(BUTTON_PIN & _BV(BUTTON_BIT));
  if (raw != raw_last) {
    raw_last = raw;
    stable_for = 0;
    return;
  }
  if (stable_for < settings.debounce_ms) stable_for++;
  if (stable_for < settings.debounce_ms || raw == state) return;
  uint8_t was = state;
  state = raw;
  if (was == 0xFF) return; /* a button held through reset is not a press */
  if (state) {
    pressed_at = now - settings.debounce_ms;
  } else {
    uart_puts("event button ");
    uart_put_u32(now - settings.debounce_ms - pressed_at);
    uart_eol();
  }
}

int main(void) {
  BUTTON_PORT |= _BV(BUTTON_BIT); /* pull-up */
  TCCR0A = _BV(WGM01);            /* Timer0 CTC, 1 kHz tick */
  TCCR0B = _BV(CS01) | _BV(CS00);
  OCR0A = F_CPU / 64 / 1000 - 1;
  TIMSK0 = _BV(OCIE0A);
  settings_load();
  motion_init();
  uart_init();
  wdt_enable(WDTO_500MS);
  set_sleep_mode(SLEEP_MODE_IDLE);
  sei();
  banner();
  for (;;) {
    wdt_reset();
    poll_uart();
    poll_motion();
    poll_button();
    sleep_mode(); /* until the next interrupt: 1 ms tick, UART, step timer */
  }
}
