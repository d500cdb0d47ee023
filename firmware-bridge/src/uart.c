#include "uart.h"

#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/wdt.h>
#include <stdlib.h>
#include <util/delay.h>

#define BAUD 115200UL
#define RX_SIZE 64 /* powers of two */
#define TX_SIZE 128

static volatile uint8_t rx_buf[RX_SIZE], tx_buf[TX_SIZE];
static volatile uint8_t rx_head, rx_tail, tx_head, tx_tail;

void uart_init(void) {
  UCSR0A = _BV(U2X0);
  UBRR0 = (F_CPU / (8UL * BAUD)) - 1; /* 16 → 117647 baud, 2.1 % (as the Arduino core) */
  UCSR0C = _BV(UCSZ01) | _BV(UCSZ00);
  UCSR0B = _BV(RXEN0) | _BV(TXEN0) | _BV(RXCIE0);
}

ISR(USART_RX_vect) {
  uint8_t c = UDR0;
  uint8_t next = (rx_head + 1) & (RX_SIZE - 1);
  if (next != rx_tail) {
    rx_buf[rx_head] = c;
    rx_head = next;
  }
}

ISR(USART_UDRE_vect) {
  if (tx_tail == tx_head) {
    UCSR0B &= ~_BV(UDRIE0);
    return;
  }
  UDR0 = tx_buf[tx_tail];
  tx_tail = (tx_tail + 1) & (TX_SIZE - 1);
}

int16_t uart_getc(void) {
  if (rx_tail == rx_head) return -1;
  uint8_t c = rx_buf[rx_tail];
  rx_tail = (rx_tail + 1) & (RX_SIZE - 1);
  return c;
}

void uart_putc(char c) {
  uint8_t next = (tx_head + 1) & (TX_SIZE - 1);
  while (next == tx_tail) wdt_reset();
  tx_buf[tx_head] = c;
  tx_head = next;
  UCSR0B |= _BV(UDRIE0);
}

void uart_puts(const char *s) {
  while (*s) uart_putc(*s++);
}

void uart_put_i32(int32_t v) {
  char buf[12];
  uart_puts(ltoa(v, buf, 10));
}

void uart_put_u32(uint32_t v) {
  char buf[11];
  uart_puts(ultoa(v, buf, 10));
}

void uart_eol(void) {
  uart_puts("\r\n");
}

void uart_flush(void) {
  while (tx_tail != tx_head) wdt_reset();
  _delay_us(200); /* the last two bytes (UDR and shift register) at 115200 baud */
}
