/*
 * The diagnostic hook (HVCORE_DIAG builds only: lib/base/CMakeLists.txt adds
 * this file when the option is on). The function is published with release
 * ordering after its context, so a refusal that sees the function sees the
 * context stored with it.
 */
#include <stdatomic.h>

#include <libhvcore/base/diag.h>

static _Atomic(hv_diag_fn) diag_fn;
static void *_Atomic diag_ctx;

void hv_diag_set(hv_diag_fn fn, void *ctx)
{
	atomic_store_explicit(&diag_ctx, ctx, memory_order_relaxed);
	atomic_store_explicit(&diag_fn, fn, memory_order_release);
}

hv_status_t hv_diag_refuse(const char *module, const char *func, const char *what, hv_status_t st)
{
	hv_diag_fn fn = atomic_load_explicit(&diag_fn, memory_order_acquire);

	if (fn != (hv_diag_fn)0)
		fn(atomic_load_explicit(&diag_ctx, memory_order_relaxed), module, func, what, st);
	return st;
}
