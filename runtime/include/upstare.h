/* upstare.h: the small C API a program built with upstare-cc may use to talk to the runtime.
 *
 * Unlike upstare_rt.h (the instrumentation ABI, which only generated code uses), this header is
 * for people. Both requests are asynchronous: the runtime's updater thread runs the update
 * transaction (the same one `upstare update` runs) while the program goes on; every thread,
 * the caller included, is moved at its next update point. The outcome is reported on stderr
 * when UPSTARE_VERBOSE=1, and by `upstare status`.
 */
#ifndef UPSTARE_H
#define UPSTARE_H

/* Requests an update of the program to the version it runs: the whole transaction with
 * identity transformers (every thread unwinds, parks and rebuilds). Returns 1 if queued.
 * Not async-signal-safe. */
int upstare_request_self_update(void);

/* Requests an update to the module at `module_path` (built with `upstare-cc -shared`), with
 * the update spec at `spec_path` (may be NULL). Returns 1 if queued, 0 if not (for instance a
 * spec file that cannot be read). Not async-signal-safe. */
int upstare_request_update(const char *module_path, const char *spec_path);

#endif
