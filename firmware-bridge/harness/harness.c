/*
 * Simulator-in-the-loop harness for the focusbox bridge firmware (simavr).
 *
 *   harness [--speed X] firmware.elf
 *
 * Runs the firmware on a simulated ATmega328P at 16 MHz, paced to X times real time (default 1),
 * bridges UART0 to a pseudo-terminal and prints "pty <path>" on stdout: open that path like
 * /dev/ttyUSB0. Watches the pins of src/board.h. Commands on stdin, one per line, each answered
 * with one "ok ..." (or "error ...") line on stdout:
 *
 *   button <held_ms> [bounces]   press the button (D7 to GND) with <bounces> contact bounces
 *                                (0.3 ms apart) on press and on release
 *   reset                        external reset of the MCU (EXTRF set, as the RESET pin does)
 *   pulses <file>                write STEP pulses since the last "clear" as JSON lines:
 *                                {"t":<rising edge, cycles>,"w":<high time, cycles>,"dir":0|1,
 *                                 "ds":<cycles since DIR last changed>,"en":0|1,"ph":<A0..A3>}
 *                                answer: "ok pulses <count>"
 *   clear                        forget recorded pulses
 *   stats                        "ok stats pulses=<n> net=<up-down> cycle=<now> hz=<clock>"
 *   quit                         exit (so does end of stdin)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "avr_ioport.h"
#include "avr_uart.h"
#include "sim_avr.h"
#include "sim_elf.h"

#define MCUSR_ADDR 0x54 /* ATmega328P MCUSR (data space) */
#define EXTRF_BIT 1
#define PORF_BIT 0
#define POLL_CYCLES 8000 /* host I/O every 0.5 ms of simulated time */

typedef struct {
  uint64_t t, w, ds;
  uint8_t dir, en, ph;
} pulse_t;

static avr_t *avr;
static int pty_fd;
static avr_irq_t *uart_in, *button_irq;
static uint8_t rxq[8192];
static size_t rxq_head, rxq_tail;
static int uart_xon;

static pulse_t *pulses;
static size_t n_pulses, cap_pulses;
static int64_t net_steps;
static uint8_t step_level, dir_level, en_level = 1, phase;
static uint64_t rise_at, dir_changed_at;

/* Scheduled button pin levels (simulated cycles). */
typedef struct {
  uint64_t at;
  uint8_t level;
} pin_event_t;
static pin_event_t pin_events[512];
static size_t n_pin_events, next_pin_event;

/* avr->cycle restarts on reset in some simavr versions: keep a monotonic clock. */
static uint64_t cycle_base, last_cycle;
static uint64_t now_cycles(void) {
  if (avr->cycle < last_cycle) cycle_base += last_cycle;
  last_cycle = avr->cycle;
  return cycle_base + avr->cycle;
}

static void uart_feed(void) {
  while (uart_xon && rxq_tail != rxq_head) {
    uint8_t c = rxq[rxq_tail];
    rxq_tail = (rxq_tail + 1) % sizeof rxq;
    avr_raise_irq(uart_in, c);
  }
}

static void on_uart_out(avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq, (void)param;
  uint8_t c = (uint8_t)value;
  if (write(pty_fd, &c, 1) < 0 && errno != EAGAIN) perror("harness: pty write");
}

static void on_xon(avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq, (void)value, (void)param;
  uart_xon = 1;
  uart_feed();
}

static void on_xoff(avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq, (void)value, (void)param;
  uart_xon = 0;
}

static void on_step(avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq, (void)param;
  uint8_t level = value & 1;
  uint64_t now = now_cycles();
  if (level && !step_level) rise_at = now;
  if (!level && step_level) {
    if (n_pulses == cap_pulses) {
      cap_pulses = cap_pulses ? cap_pulses * 2 : 4096;
      pulses = realloc(pulses, cap_pulses * sizeof *pulses);
      if (!pulses) abort();
    }
    pulses[n_pulses++] = (pulse_t){rise_at, now - rise_at, rise_at - dir_changed_at, dir_level, !en_level, phase};
    net_steps += dir_level ? 1 : -1;
  }
  step_level = level;
}

static void on_dir(avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq, (void)param;
  if ((value & 1) != dir_level) dir_changed_at = now_cycles();
  dir_level = value & 1;
}

static void on_en(avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq, (void)param;
  en_level = value & 1;
}

static void on_phase(avr_irq_t *irq, uint32_t value, void *param) {
  (void)irq;
  uint8_t bit = (uint8_t)(uintptr_t)param;
  phase = (uint8_t)((phase & ~(1u << bit)) | ((value & 1) << bit));
}

static void watch(char port, int bit, avr_irq_notify_t fn, void *param) {
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(port), bit), fn, param);
}

static void release_button(void) {
  /* Raise low then high so the pin register follows even if the irq kept its old value. */
  avr_raise_irq(button_irq, 0);
  avr_raise_irq(button_irq, 1);
}

static void schedule_pin(uint64_t at, uint8_t level) {
  if (n_pin_events < sizeof pin_events / sizeof *pin_events) pin_events[n_pin_events++] = (pin_event_t){at, level};
}

static void press_button(unsigned held_ms, unsigned bounces) {
  uint64_t ms = avr->frequency / 1000, t = now_cycles() + ms, bounce = ms * 3 / 10;
  n_pin_events = next_pin_event = 0;
  for (unsigned i = 0; i < bounces; i++, t += bounce) schedule_pin(t, i % 2 == 0 ? 0 : 1);
  schedule_pin(t, 0);
  t += (uint64_t)held_ms * ms;
  for (unsigned i = 0; i < bounces; i++, t += bounce) schedule_pin(t, i % 2 == 0 ? 1 : 0);
  schedule_pin(t, 1);
}

static void reset_mcu(void) {
  avr_reset(avr);
  avr->data[MCUSR_ADDR] |= 1 << EXTRF_BIT;
  n_pin_events = next_pin_event = 0;
  release_button();
}

static void dump_pulses(const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) {
    printf("error cannot open %s: %s\n", path, strerror(errno));
    return;
  }
  for (size_t i = 0; i < n_pulses; i++) {
    const pulse_t *p = &pulses[i];
    fprintf(f, "{\"t\":%llu,\"w\":%llu,\"dir\":%u,\"ds\":%llu,\"en\":%u,\"ph\":%u}\n", (unsigned long long)p->t,
            (unsigned long long)p->w, p->dir, (unsigned long long)p->ds, p->en, p->ph);
  }
  fclose(f);
  printf("ok pulses %zu\n", n_pulses);
}

static void command(char *line) {
  char verb[16] = "", arg[4096] = "";
  unsigned a = 0, b = 0;
  sscanf(line, "%15s %4095s", verb, arg);
  if (!strcmp(verb, "button")) {
    int n = sscanf(line, "%*s %u %u", &a, &b);
    if (n < 1) {
      printf("error usage: button <held_ms> [bounces]\n");
    } else {
      press_button(a, n > 1 ? b : 0);
      printf("ok button\n");
    }
  } else if (!strcmp(verb, "reset")) {
    reset_mcu();
    printf("ok reset\n");
  } else if (!strcmp(verb, "pulses") && arg[0]) {
    dump_pulses(arg);
  } else if (!strcmp(verb, "clear")) {
    n_pulses = 0;
    net_steps = 0;
    printf("ok clear\n");
  } else if (!strcmp(verb, "stats")) {
    printf("ok stats pulses=%zu net=%lld cycle=%llu hz=%u\n", n_pulses, (long long)net_steps,
           (unsigned long long)now_cycles(), avr->frequency);
  } else if (!strcmp(verb, "quit")) {
    exit(0);
  } else if (verb[0]) {
    printf("error unknown command %s\n", verb);
  }
  fflush(stdout);
}

static void poll_stdin(void) {
  static char line[4200];
  static size_t len;
  char buf[256];
  ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
  if (n == 0) exit(0);
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] == '\n') {
      line[len] = 0;
      command(line);
      len = 0;
    } else if (len < sizeof line - 1) {
      line[len++] = buf[i];
    }
  }
}

static void poll_pty(void) {
  uint8_t buf[256];
  ssize_t n = read(pty_fd, buf, sizeof buf);
  for (ssize_t i = 0; i < n; i++) {
    size_t next = (rxq_head + 1) % sizeof rxq;
    if (next == rxq_tail) break;
    rxq[rxq_head] = buf[i];
    rxq_head = next;
  }
  uart_feed();
}

/* simavr logs to stdout by default; stdout is this harness's command channel. */
static void log_to_stderr(avr_t *a, const int level, const char *format, va_list ap) {
  (void)a;
  if (level <= LOG_WARNING) vfprintf(stderr, format, ap);
}

/* Pacing is done in main(); simavr's own sleep callback would pace idle time at 1x. */
static void sleep_none(avr_t *a, avr_cycle_count_t how_long) {
  (void)a, (void)how_long;
}

static uint64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int open_pty(void) {
  int fd = posix_openpt(O_RDWR | O_NOCTTY);
  if (fd < 0 || grantpt(fd) || unlockpt(fd)) return -1;
  const char *name = ptsname(fd);
  int slave = open(name, O_RDWR | O_NOCTTY); /* kept open: no EIO while the host is not connected */
  struct termios tio;
  if (slave < 0 || tcgetattr(slave, &tio)) return -1;
  cfmakeraw(&tio);
  cfsetspeed(&tio, B115200);
  tcsetattr(slave, TCSANOW, &tio);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  printf("pty %s\n", name);
  fflush(stdout);
  return fd;
}

int main(int argc, char **argv) {
  double speed = 1.0;
  const char *elf = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--speed") && i + 1 < argc)
      speed = atof(argv[++i]);
    else
      elf = argv[i];
  }
  if (!elf || speed <= 0) {
    fprintf(stderr, "usage: harness [--speed X] firmware.elf\n");
    return 2;
  }
  avr_global_logger_set(log_to_stderr);
  elf_firmware_t fw;
  memset(&fw, 0, sizeof fw);
  if (elf_read_firmware(elf, &fw)) {
    fprintf(stderr, "harness: cannot read %s\n", elf);
    return 1;
  }
  if (!fw.mmcu[0]) strcpy(fw.mmcu, "atmega328p");
  if (!fw.frequency) fw.frequency = 16000000;
  avr = avr_make_mcu_by_name(fw.mmcu);
  if (!avr) {
    fprintf(stderr, "harness: unknown MCU %s\n", fw.mmcu);
    return 1;
  }
  avr_init(avr);
  avr->log = LOG_ERROR;
  avr_load_firmware(avr, &fw);
  avr->sleep = sleep_none;
  avr->data[MCUSR_ADDR] |= 1 << PORF_BIT;

  pty_fd = open_pty();
  if (pty_fd < 0) {
    perror("harness: pty");
    return 1;
  }
  fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);

  uint32_t flags = 0;
  avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
  flags &= ~(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
  avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
  uart_in = avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), on_uart_out, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON), on_xon, NULL);
  avr_irq_register_notify(avr_io_getirq(avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF), on_xoff, NULL);

  /* Pins of src/board.h: STEP D2, DIR D3, EN D4, button D7, ULN2003 A0..A3. */
  watch('D', 2, on_step, NULL);
  watch('D', 3, on_dir, NULL);
  watch('D', 4, on_en, NULL);
  for (uintptr_t bit = 0; bit < 4; bit++) watch('C', (int)bit, on_phase, (void *)bit);
  button_irq = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 7);
  release_button();

  uint64_t start_ns = wall_ns(), next_poll = 0;
  for (;;) {
    int state = avr_run(avr);
    if (state == cpu_Done || state == cpu_Crashed) {
      fprintf(stderr, "harness: simulation ended (state %d)\n", state);
      return 1;
    }
    uint64_t now = now_cycles();
    while (next_pin_event < n_pin_events && pin_events[next_pin_event].at <= now)
      avr_raise_irq(button_irq, pin_events[next_pin_event++].level);
    if (now < next_poll) continue;
    next_poll = now + POLL_CYCLES;
    poll_pty();
    poll_stdin();
    uint64_t sim_ns = (uint64_t)((double)now * 1e9 / avr->frequency / speed), wall = wall_ns() - start_ns;
    if (sim_ns > wall + 2000000) {
      uint64_t ahead = sim_ns - wall;
      struct timespec ts = {(time_t)(ahead / 1000000000ull), (long)(ahead % 1000000000ull)};
      nanosleep(&ts, NULL);
    }
  }
}
