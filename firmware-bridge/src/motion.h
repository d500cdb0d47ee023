/*
 * Step generation: Timer1 (F_CPU/8, 0.5 µs ticks) compare interrupt, trapezoidal profile with
 * exact step times. Step k of a ramp from rest is emitted at t_k = sqrt(2k/a), so the speed
 * measured between consecutive steps rises by exactly a per second; deceleration mirrors it.
 */
#ifndef MOTION_H
#define MOTION_H

#include <stdint.h>

enum { END_NONE = 0, END_DONE = 1, END_STOPPED = 2 };

void motion_init(void);
/* Starts a move to an absolute target (steps); returns 0 when a move is already running. */
uint8_t motion_start(int32_t target);
/* Decelerates a running move to rest (no effect when idle). */
void motion_stop(void);
uint8_t motion_running(void);
int32_t motion_position(void);
/* Redefines the position (idle only; returns 0 while moving). */
uint8_t motion_set_position(int32_t steps);
/* END_DONE / END_STOPPED once after a move has ended, else END_NONE. */
uint8_t motion_take_end(void);
void motion_enable(uint8_t on);
uint8_t motion_enabled(void);

#endif
