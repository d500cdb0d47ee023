/*
 * Pin map and clock of the focusbox bridge (Arduino Nano / Uno, ATmega328P at 16 MHz).
 * Shared with README.md (wiring table) and harness/harness.c (simulated pins): keep all three
 * in step when changing a pin.
 */
#ifndef BOARD_H
#define BOARD_H

#include <avr/io.h>

/* Step/dir driver (A4988, DRV8825, TMC2209): D2 = STEP, D3 = DIR, D4 = EN (active low). */
#define STEP_BIT PD2
#define DIR_BIT PD3
#define EN_BIT PD4
#define DRIVER_PORT PORTD
#define DRIVER_DDR DDRD

/* Push button to GND on D7, internal pull-up: low = pressed. */
#define BUTTON_BIT PD7
#define BUTTON_PORT PORTD
#define BUTTON_PIN PIND

/* ULN2003 (28BYJ-48) IN1..IN4 on A0..A3. */
#define ULN_MASK 0x0F
#define ULN_PORT PORTC
#define ULN_DDR DDRC

/* On-board LED D13: lit while the motor moves. */
#define LED_BIT PB5
#define LED_PORT PORTB
#define LED_DDR DDRB

#endif
