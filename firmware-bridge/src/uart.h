/* Interrupt-driven UART, 115200 8N1: a receive ring and a transmit ring. */
#ifndef UART_H
#define UART_H

#include <stdint.h>

void uart_init(void);
/* Next received byte, or -1 when none is waiting. */
int16_t uart_getc(void);
/* Queues a byte; waits (feeding the watchdog) while the transmit ring is full. */
void uart_putc(char c);
void uart_puts(const char *s);
void uart_put_i32(int32_t v);
void uart_put_u32(uint32_t v);
/* Terminates a line ("\r\n"). */
void uart_eol(void);
/* Waits until every queued byte has left the shift register. */
void uart_flush(void);

#endif
