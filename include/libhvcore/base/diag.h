/**
 * @file
 * @brief Optional diagnostics: which argument a call refused, and why.
 *
 * A status says what kind of mistake a call found (see ::hv_status_t), not
 * which of its arguments it was: hv_sched_domain_init() answers
 * ::HV_ERR_RANGE for a CPU count of 0 and for a priority range of 100000
 * alike. An embedder chasing such a refusal builds the library with the
 * CMake option @c HVCORE_DIAG (which defines the macro of the same name for
 * the library and for everything that links it) and installs a hook with
 * hv_diag_set(): every check written with HV_REFUSE() then calls the hook
 * with the module, the function and a short text naming the argument and
 * the bound it broke, e.g. "cpu_count above HV_SCHED_MAX_CPUS".
 *
 * Compiled out by default: without @c HVCORE_DIAG, HV_REFUSE() is just its
 * status, hv_diag_set() is an inline function that does nothing, and the
 * archives hold no hv_diag symbol and none of the texts. The hook exists to
 * debug an embedding, not to report errors to a guest: a guest still sees
 * only the status.
 *
 * Locking: the hook is one process-wide pair (function, context), read with
 * acquire ordering on every refusal. Set it before the calls it should
 * observe (see hv_diag_set()); the hook may run on any CPU, concurrently, with whatever locks
 * the refusing call holds, so it must not call back into libhvcore.
 */
#ifndef LIBHVCORE_BASE_DIAG_H
#define LIBHVCORE_BASE_DIAG_H

#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Diagnostic hook: told about every refusal made with HV_REFUSE().
 * @param ctx    The context given to hv_diag_set().
 * @param module Library module that refused, e.g. "sched" (a static string).
 * @param func   Function that refused, e.g. "hv_sched_domain_init".
 * @param what   Which argument and which rule, e.g. "cpu_count is 0".
 * @param st     The status the call returns.
 */
typedef void (*hv_diag_fn)(void *ctx, const char *module, const char *func, const char *what,
			   hv_status_t st);

#ifdef HVCORE_DIAG

/**
 * @brief Install (or with @p fn NULL, remove) the diagnostic hook.
 * @param fn  Hook, or NULL for none.
 * @param ctx Passed to @p fn unchanged.
 * @par Locking
 * None. Set it before the calls it should observe (at start-up): a refusal
 * racing with a change may pair the old function with the new context.
 */
void hv_diag_set(hv_diag_fn fn, void *ctx);

/**
 * @brief Report a refusal to the hook, if one is set (what HV_REFUSE() calls).
 * @param module Refusing module.
 * @param func   Refusing function.
 * @param what   Which argument and which rule.
 * @param st     The status refused with.
 * @return @p st, so a check can `return hv_diag_refuse(...)`.
 */
hv_status_t hv_diag_refuse(const char *module, const char *func, const char *what, hv_status_t st);

/** @brief Module name a library source reports; each module's build defines its own. */
#ifndef HV_DIAG_MODULE
#define HV_DIAG_MODULE "libhvcore"
#endif

/**
 * @brief Refuse with status @p st, telling the diagnostic hook @p what was wrong.
 *
 * Evaluates to @p st. With @c HVCORE_DIAG undefined it is @p st alone and
 * @p what (a string literal) leaves no trace in the object code.
 */
#define HV_REFUSE(st, what) hv_diag_refuse(HV_DIAG_MODULE, __func__, (what), (st))

#else /* !HVCORE_DIAG */

/* Compiled out: no symbol, no text; a call to hv_diag_set() does nothing. */
static inline void hv_diag_set(hv_diag_fn fn, void *ctx)
{
	(void)fn;
	(void)ctx;
}

#define HV_REFUSE(st, what) (st)

#endif /* HVCORE_DIAG */

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_BASE_DIAG_H */
