/* upstare.h: the small C API a program built with upstare-cc may use to talk to the runtime.
 *
 * Unlike upstare_rt.h (the instrumentation ABI, which only generated code uses), this header is
 * for people. It deliberately offers only what the runtime implements today.
 */
#ifndef UPSTARE_H
#define UPSTARE_H

/* Requests a self-update: every thread unwinds to its root at its next update point where that
 * is allowed, and all of them rebuild their stacks in the same code. Returns 1 if this call
 * started a round, 0 if one was already in progress. Not async-signal-safe. */
int upstare_request_self_update(void);

#endif
