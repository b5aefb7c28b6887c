/*
 * event.h: hv_event_key() and hv_event_set_key() over every event type:
 * each type's key lives in exactly the field the router compares, a key
 * that fits the field comes back unchanged, a wider one keeps its low 32
 * bits in a 32-bit field, nothing else in the event changes, and types
 * without a key (NONE, values outside the enum) read 0 and write nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka.h relies on the four headers above being included first. */
#include <cmocka.h>

#include <string.h>

#include <libhvcore/event.h>

/* An event of type @p type whose every other byte is a known pattern. */
static struct hv_event patterned(uint32_t type)
{
	struct hv_event ev;

	memset(&ev, 0x5a, sizeof(ev));
	ev.type = (hv_event_type_t)type;
	return ev;
}

/* The event's key field read directly, by the table in evroute.h; false for none. */
static bool field_of(const struct hv_event *ev, uint64_t *key, bool *wide)
{
	*wide = false;
	switch (ev->type) {
	case HV_EVENT_IRQ:
		*key = ev->u.irq.vector;
		return true;
	case HV_EVENT_EXCEPTION:
		*key = ev->u.exception.code;
		return true;
	case HV_EVENT_PRIV_INSN:
		*key = (uint32_t)ev->u.insn.insn;
		return true;
	case HV_EVENT_PIO:
	case HV_EVENT_MMIO:
		*key = ev->u.access.addr;
		*wide = true;
		return true;
	case HV_EVENT_MSR:
		*key = ev->u.msr.index;
		return true;
	case HV_EVENT_HYPERCALL:
		*key = ev->u.hypercall.nr;
		*wide = true;
		return true;
	case HV_EVENT_PLATFORM:
		*key = ev->u.platform.code;
		return true;
	default:
		return false;
	}
}

/* Bytes of @p a and @p b differ only inside [off, off + len). */
static void same_outside(const struct hv_event *a, const struct hv_event *b, size_t off, size_t len)
{
	const uint8_t *pa = (const uint8_t *)a, *pb = (const uint8_t *)b;

	for (size_t i = 0; i < sizeof(*a); i++) {
		if (i < off || i >= off + len)
			assert_int_equal(pa[i], pb[i]);
	}
}

/* Offset and size of type @p type's key field in struct hv_event. */
static void key_field(uint32_t type, size_t *off, size_t *len)
{
	switch (type) {
	case HV_EVENT_IRQ:
		*off = offsetof(struct hv_event, u.irq.vector);
		*len = 4;
		break;
	case HV_EVENT_EXCEPTION:
		*off = offsetof(struct hv_event, u.exception.code);
		*len = 4;
		break;
	case HV_EVENT_PRIV_INSN:
		*off = offsetof(struct hv_event, u.insn.insn);
		*len = sizeof(hv_insn_t);
		break;
	case HV_EVENT_PIO:
	case HV_EVENT_MMIO:
		*off = offsetof(struct hv_event, u.access.addr);
		*len = 8;
		break;
	case HV_EVENT_MSR:
		*off = offsetof(struct hv_event, u.msr.index);
		*len = 4;
		break;
	case HV_EVENT_HYPERCALL:
		*off = offsetof(struct hv_event, u.hypercall.nr);
		*len = 8;
		break;
	default:
		*off = offsetof(struct hv_event, u.platform.code);
		*len = 4;
		break;
	}
}

static const uint64_t keys[] = {
	0,	   1, 0x9010000u, 0x7fffffffu, 0xffffffffu, 0x100000000ull, 0x123456789abcdefull,
	UINT64_MAX};

static void every_type_keeps_its_key_in_the_routed_field(void **state)
{
	(void)state;
	for (uint32_t t = HV_EVENT_NONE + 1u; t < HV_EVENT_TYPE_COUNT; t++) {
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			struct hv_event before = patterned(t), ev = patterned(t);
			uint64_t direct = 0;
			size_t off = 0, len = 0;
			bool wide = false;

			hv_event_set_key(&ev, keys[k]);
			assert_true(field_of(&ev, &direct, &wide));
			/* The helper reads the field the router's table names. */
			assert_int_equal(hv_event_key(&ev), direct);
			/* A key that fits comes back; a wider one keeps its low 32 bits. */
			if (wide || keys[k] <= UINT32_MAX)
				assert_int_equal(hv_event_key(&ev), keys[k]);
			else
				assert_int_equal(hv_event_key(&ev), keys[k] & 0xffffffffu);
			/* Only the key field changed. */
			key_field(t, &off, &len);
			same_outside(&before, &ev, off, len);
		}
	}
}

static void types_without_a_key_read_zero_and_write_nothing(void **state)
{
	const uint32_t none[] = {HV_EVENT_NONE, HV_EVENT_TYPE_COUNT, 0x7fffffffu};

	(void)state;
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		struct hv_event before = patterned(none[i]), ev = patterned(none[i]);

		assert_int_equal(hv_event_key(&ev), 0);
		hv_event_set_key(&ev, 0x1122334455667788ull);
		assert_memory_equal(&ev, &before, sizeof(ev));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_type_keeps_its_key_in_the_routed_field),
		cmocka_unit_test(types_without_a_key_read_zero_and_write_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
