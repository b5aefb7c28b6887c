/*
 * Scheduler image loader (include/libhvcore/sched_loader.h).
 *
 * The image is hostile until its digest is on the allowlist, and even then
 * it is parsed as if it were not: an allowlisted image built by a broken
 * toolchain must not corrupt the hypervisor either. So every size and
 * offset from the file goes through checked arithmetic (libhvcore/base/
 * bits.h), every count is bounded by the file size before a loop uses it,
 * and the ELF is read a byte at a time in little-endian order (the buffer
 * need not be aligned, and the host's layout never matters).
 *
 * What the parser validated is kept in struct img (segments, relocation
 * table position, entry) and placing uses those copies; each relocation is
 * checked again as it is applied. So even a buffer that changed after the
 * check (the caller must not let that happen: the digest vouches only for
 * the bytes it hashed) cannot make the loader write outside the range it
 * allocated.
 */
#include <libhvcore/base/bits.h>
#include <libhvcore/base/mem.h>
#include <libhvcore/base/sha256.h>
#include <libhvcore/port/exec.h>
#include <libhvcore/port/mem.h>
#include <libhvcore/sched.h>
#include <libhvcore/sched_loader.h>

/* ELF64 layout (System V gABI), only what the loader reads. */
#define EHDR_SIZE     64u
#define PHDR_SIZE     56u
#define SHDR_SIZE     64u
#define DYN_SIZE      16u
#define RELA_SIZE     24u
#define ELFCLASS64    2u
#define ELFDATALSB    1u
#define EV_CURRENT    1u
#define ET_DYN	      3u

#define PT_LOAD	      1u
#define PT_DYNAMIC    2u
#define PT_INTERP     3u
#define PT_SHLIB      5u
#define PT_TLS	      7u

#define PF_X	      1u
#define PF_W	      2u

#define DT_NULL	      0u
#define DT_NEEDED     1u
#define DT_PLTRELSZ   2u
#define DT_PLTGOT     3u
#define DT_HASH	      4u
#define DT_STRTAB     5u
#define DT_SYMTAB     6u
#define DT_RELA	      7u
#define DT_RELASZ     8u
#define DT_RELAENT    9u
#define DT_STRSZ      10u
#define DT_SYMENT     11u
#define DT_SONAME     14u
#define DT_SYMBOLIC   16u
#define DT_PLTREL     20u
#define DT_DEBUG      21u
#define DT_JMPREL     23u
#define DT_BIND_NOW   24u
#define DT_FLAGS      30u
#define DT_GNU_HASH   0x6ffffef5u
#define DT_VERSYM     0x6ffffff0u
#define DT_RELACOUNT  0x6ffffff9u
#define DT_FLAGS_1    0x6ffffffbu
#define DT_VERDEF     0x6ffffffcu
#define DT_VERDEFNUM  0x6ffffffdu
#define DF_TEXTREL    0x4u
#define DF_STATIC_TLS 0x10u
#define R_X86_64_REL  8u
#define R_AARCH64_REL 1027u
#define RELOC_WORD    8u
#define SHA256	      HV_SHA256_DIGEST_SIZE

/* A PT_LOAD segment as validated. */
struct img_load {
	uint64_t offset;
	uint64_t vaddr;
	uint64_t filesz;
	uint64_t memsz;
	uint32_t flags;
};

/* Everything the parser established about an image. */
struct img {
	const uint8_t *p;
	uint64_t size;
	uint16_t machine;
	uint32_t rel_type; /* the machine's RELATIVE relocation */
	uint64_t page;
	uint32_t load_count;
	struct img_load loads[HV_SCHED_IMAGE_MAX_LOADS];
	uint64_t mem_size;
	uint64_t span;
	uint64_t align;
	uint64_t entry;
	uint64_t rela_off; /* file offset of the RELA table */
	uint64_t rela_count;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | ((uint32_t)rd16(p + 2) << 16);
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

static void wr64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The machine a request means (0: the build's own), or 0 if unsupported. */
static uint16_t resolve_machine(uint16_t machine)
{
	if (machine == 0) {
#if defined(__aarch64__)
		machine = HV_SCHED_EM_AARCH64;
#elif defined(__x86_64__)
		machine = HV_SCHED_EM_X86_64;
#endif
	}
	/* Images are LP64 and their descriptors are read natively. */
	if (sizeof(uintptr_t) != 8)
		return 0;
	return machine == HV_SCHED_EM_AARCH64 || machine == HV_SCHED_EM_X86_64 ? machine : 0;
}

/* True if [off, off + len) lies inside the file. */
static bool in_file(const struct img *im, uint64_t off, uint64_t len)
{
	return hv_range_within(off, len, 0, im->size);
}

static hv_status_t parse_ehdr(struct img *im, uint64_t *phoff, uint32_t *phnum)
{
	const uint8_t *p = im->p;
	uint64_t len;

	if (im->size < EHDR_SIZE)
		return HV_ERR_BAD_FORMAT;
	if (p[0] != 0x7f || p[1] != 'E' || p[2] != 'L' || p[3] != 'F')
		return HV_ERR_BAD_FORMAT;
	/* A well-formed ELF for another platform: not ours to run. */
	if (p[4] != ELFCLASS64 || p[5] != ELFDATALSB || rd16(p + 18) != im->machine)
		return HV_ERR_NOT_SUPPORTED;
	/* EI_OSABI and e_flags ask nothing of a loader that resolves no symbols. */
	if (p[6] != EV_CURRENT || rd32(p + 20) != EV_CURRENT || rd16(p + 16) != ET_DYN)
		return HV_ERR_BAD_FORMAT;
	if (rd16(p + 52) != EHDR_SIZE || rd16(p + 54) != PHDR_SIZE)
		return HV_ERR_BAD_FORMAT;
	*phoff = rd64(p + 32);
	*phnum = rd16(p + 56);
	if (*phnum == 0 || *phnum > HV_SCHED_IMAGE_MAX_PHDRS)
		return HV_ERR_BAD_FORMAT;
	if (!hv_mul_u64(*phnum, PHDR_SIZE, &len) || !in_file(im, *phoff, len))
		return HV_ERR_BAD_FORMAT;
	/*
	 * Section headers are not used, but a table that points outside the
	 * file says the image was cut or forged. With e_shoff 0 there is none.
	 */
	uint64_t shoff = rd64(p + 40);
	uint16_t shnum = rd16(p + 60);

	if (shoff == 0)
		return shnum == 0 ? HV_OK : HV_ERR_BAD_FORMAT;
	if (rd16(p + 58) != SHDR_SIZE)
		return HV_ERR_BAD_FORMAT;
	/* shnum 0 with a table: extended numbering, the count is in entry 0. */
	if (!hv_mul_u64(shnum == 0 ? 1u : shnum, SHDR_SIZE, &len) || !in_file(im, shoff, len))
		return HV_ERR_BAD_FORMAT;
	return HV_OK;
}

static hv_status_t add_load(struct img *im, const uint8_t *ph)
{
	struct img_load s = {
		.offset = rd64(ph + 8),
		.vaddr = rd64(ph + 16),
		.filesz = rd64(ph + 32),
		.memsz = rd64(ph + 40),
		.flags = rd32(ph + 4),
	};
	uint64_t align = rd64(ph + 48);
	uint64_t end;

	if (im->load_count == HV_SCHED_IMAGE_MAX_LOADS)
		return HV_ERR_BAD_FORMAT;
	if (s.memsz == 0 || s.filesz > s.memsz)
		return HV_ERR_BAD_FORMAT;
	if (align > HV_SCHED_IMAGE_MAX_ALIGN || (align > 1 && !hv_is_pow2(align)))
		return HV_ERR_BAD_FORMAT;
	if ((s.flags & (PF_W | PF_X)) == (PF_W | PF_X))
		return HV_ERR_BAD_FORMAT;
	if (!hv_add_u64(s.vaddr, s.memsz, &end) || end > HV_SCHED_IMAGE_MAX_SPAN)
		return HV_ERR_BAD_FORMAT;
	/* One flat copy at base + p_vaddr: segments must not share a byte. */
	for (uint32_t i = 0; i < im->load_count; i++) {
		const struct img_load *o = &im->loads[i];

		if (s.vaddr < o->vaddr + o->memsz && o->vaddr < end)
			return HV_ERR_BAD_FORMAT;
	}
	if (end > im->mem_size)
		im->mem_size = end;
	if (align > im->align)
		im->align = align;
	im->loads[im->load_count++] = s;
	return HV_OK;
}

/*
 * File offset of [vaddr, vaddr + len), which must lie in the file-backed
 * part of one PT_LOAD segment (the bss part is not in the file).
 */
static bool vaddr_to_off(const struct img *im, uint64_t vaddr, uint64_t len, uint64_t *off)
{
	for (uint32_t i = 0; i < im->load_count; i++) {
		const struct img_load *s = &im->loads[i];

		if (hv_range_within(vaddr, len, s->vaddr, s->filesz)) {
			*off = s->offset + (vaddr - s->vaddr);
			return true;
		}
	}
	return false;
}

/* True if [vaddr, vaddr + len) lies in the memory of one PT_LOAD with all of @p flags. */
static bool in_segment(const struct img *im, uint64_t vaddr, uint64_t len, uint32_t flags)
{
	for (uint32_t i = 0; i < im->load_count; i++) {
		const struct img_load *s = &im->loads[i];

		if ((s->flags & flags) == flags && hv_range_within(vaddr, len, s->vaddr, s->memsz))
			return true;
	}
	return false;
}

/* Relocation @p i of the validated table: RELATIVE, into writable memory, inside the image. */
static bool rela_ok(const struct img *im, uint64_t i, uint64_t *where, uint64_t *addend)
{
	const uint8_t *r = im->p + im->rela_off + i * RELA_SIZE;
	uint64_t info = rd64(r + 8);

	*where = rd64(r);
	*addend = rd64(r + 16); /* Elf64_Sxword: negative ones fail the bound below */
	if ((uint32_t)info != im->rel_type || (info >> 32) != 0)
		return false;
	if (!in_segment(im, *where, RELOC_WORD, PF_W))
		return false;
	return *addend < im->mem_size;
}

/* A dynamic tag that only describes symbol lookup or sets a harmless flag. */
static bool tag_harmless(uint64_t tag)
{
	switch (tag) {
	case DT_PLTGOT:	  /* only the lazy PLT resolver uses it, and there is no PLT */
	case DT_HASH:	  /* symbol lookup: this loader looks nothing up */
	case DT_STRTAB:	  /* ditto */
	case DT_SYMTAB:	  /* ditto */
	case DT_STRSZ:	  /* ditto */
	case DT_SYMENT:	  /* ditto */
	case DT_SONAME:	  /* ditto */
	case DT_SYMBOLIC: /* resolution order: nothing is resolved */
	case DT_PLTREL:	  /* type of a PLT table that must be empty */
	case DT_DEBUG:	  /* a debugger's slot */
	case DT_BIND_NOW: /* everything is bound at load time anyway */
	case DT_GNU_HASH:
	case DT_VERSYM:
	case DT_VERDEF:
	case DT_VERDEFNUM:
	case DT_RELACOUNT: /* a hint: the table is checked entry by entry */
	case DT_FLAGS_1:
		return true;
	default:
		return false;
	}
}

/*
 * Walk the dynamic section. A whitelist, not a blacklist: a tag this
 * loader does not know may ask for work it does not do (a new relocation
 * format, constructors, TLS, a library to link), and ignoring it would hand
 * the manager a half-prepared scheduler. So only the relocation table is
 * used, and only tags known to describe symbol lookup pass.
 */
static hv_status_t parse_dynamic(struct img *im, uint64_t dvaddr, uint64_t dsize)
{
	uint64_t doff;
	uint64_t rela = 0, relasz = 0, relaent = 0;
	bool have_rela = false, have_sz = false, have_ent = false, ended = false;

	if (dsize % DYN_SIZE != 0 || !vaddr_to_off(im, dvaddr, dsize, &doff))
		return HV_ERR_BAD_FORMAT;
	/* dsize is inside the file, so this loop is bounded by the file size. */
	for (uint64_t i = 0; i < dsize / DYN_SIZE && !ended; i++) {
		const uint8_t *d = im->p + doff + i * DYN_SIZE;
		uint64_t tag = rd64(d);
		uint64_t val = rd64(d + 8);

		switch (tag) {
		case DT_NULL:
			ended = true;
			break;
		case DT_RELA:
			if (have_rela)
				return HV_ERR_BAD_FORMAT;
			have_rela = true;
			rela = val;
			break;
		case DT_RELASZ:
			if (have_sz)
				return HV_ERR_BAD_FORMAT;
			have_sz = true;
			relasz = val;
			break;
		case DT_RELAENT:
			if (have_ent)
				return HV_ERR_BAD_FORMAT;
			have_ent = true;
			relaent = val;
			break;
		case DT_PLTRELSZ:
		case DT_JMPREL:
			/* PLT relocations name symbols: only an empty table passes. */
			if (val != 0)
				return HV_ERR_BAD_FORMAT;
			break;
		case DT_FLAGS:
			if ((val & (DF_TEXTREL | DF_STATIC_TLS)) != 0)
				return HV_ERR_BAD_FORMAT;
			break;
		default:
			if (!tag_harmless(tag))
				return HV_ERR_BAD_FORMAT;
			break;
		}
	}
	if (!ended)
		return HV_ERR_BAD_FORMAT;
	if (!have_rela && !have_sz)
		return HV_OK;
	if (!have_rela || !have_sz || !have_ent || relaent != RELA_SIZE || relasz % RELA_SIZE != 0)
		return HV_ERR_BAD_FORMAT;
	if (!vaddr_to_off(im, rela, relasz, &im->rela_off))
		return HV_ERR_BAD_FORMAT;
	im->rela_count = relasz / RELA_SIZE;
	return HV_OK;
}

/* Parse and validate the whole image into @p im. */
static hv_status_t img_parse(struct img *im, const void *image, size_t size, uint16_t machine)
{
	uint64_t phoff;
	uint32_t phnum;
	uint64_t dyn_vaddr = 0, dyn_size = 0, dyn_off = 0;
	bool have_dyn = false;
	hv_status_t st;

	hv_memset(im, 0, sizeof(*im));
	im->p = image;
	im->size = size;
	im->machine = resolve_machine(machine);
	if (im->machine == 0)
		return HV_ERR_NOT_SUPPORTED;
	im->rel_type = im->machine == HV_SCHED_EM_AARCH64 ? R_AARCH64_REL : R_X86_64_REL;
	im->page = hv_port_exec_page_size();
	if (!hv_is_pow2(im->page))
		return HV_ERR_INTERNAL;
	im->align = im->page;
	st = parse_ehdr(im, &phoff, &phnum);
	if (st != HV_OK)
		return st;

	for (uint32_t i = 0; i < phnum; i++) {
		const uint8_t *ph = im->p + phoff + (uint64_t)i * PHDR_SIZE;
		uint32_t type = rd32(ph);

		/* Every header's bytes are in the file, whatever its type. */
		if (!in_file(im, rd64(ph + 8), rd64(ph + 32)))
			return HV_ERR_BAD_FORMAT;
		switch (type) {
		case PT_LOAD:
			st = add_load(im, ph);
			if (st != HV_OK)
				return st;
			break;
		case PT_DYNAMIC:
			if (have_dyn)
				return HV_ERR_BAD_FORMAT;
			have_dyn = true;
			dyn_off = rd64(ph + 8);
			dyn_vaddr = rd64(ph + 16);
			dyn_size = rd64(ph + 32);
			break;
		case PT_INTERP: /* asks for a program interpreter */
		case PT_SHLIB:	/* reserved, meaning unspecified */
		case PT_TLS:	/* thread-local storage a module cannot have */
			return HV_ERR_BAD_FORMAT;
		default:
			/* Notes, GNU_STACK, GNU_EH_FRAME, GNU_RELRO ...: informational. */
			break;
		}
	}
	if (im->load_count == 0)
		return HV_ERR_BAD_FORMAT;
	if (!hv_align_up(im->mem_size, im->page, &im->span) || im->span > HV_SCHED_IMAGE_MAX_SPAN)
		return HV_ERR_BAD_FORMAT;

	im->entry = rd64(im->p + 24);
	if (!hv_is_aligned(im->entry, _Alignof(struct hv_sched_module)) ||
	    !in_segment(im, im->entry, sizeof(struct hv_sched_module), 0))
		return HV_ERR_BAD_FORMAT;

	if (have_dyn) {
		uint64_t off;

		/* The file offset must agree with where the segment puts it. */
		if (!vaddr_to_off(im, dyn_vaddr, dyn_size, &off) || off != dyn_off)
			return HV_ERR_BAD_FORMAT;
		st = parse_dynamic(im, dyn_vaddr, dyn_size);
		if (st != HV_OK)
			return st;
	}
	for (uint64_t i = 0; i < im->rela_count; i++) {
		uint64_t where, addend;

		if (!rela_ok(im, i, &where, &addend))
			return HV_ERR_BAD_FORMAT;
	}
	return HV_OK;
}

hv_status_t hv_sched_image_check(const void *image, size_t size, uint16_t machine,
				 struct hv_sched_image_info *info)
{
	struct img im;
	hv_status_t st;

	if (image == NULL && size != 0)
		return HV_ERR_INVALID_ARG;
	if (image == NULL)
		image = "";
	st = img_parse(&im, image, size, machine);
	if (st != HV_OK || info == NULL)
		return st;
	info->machine = im.machine;
	info->load_count = im.load_count;
	info->reloc_count = im.rela_count;
	info->mem_size = im.mem_size;
	info->span = im.span;
	info->align = im.align;
	info->entry = im.entry;
	return HV_OK;
}

/* ---- the descriptor as the file shows it ---- */

/* How the relocations leave the bytes [vaddr, vaddr + len) of the image. */
enum word_fate {
	WORD_FILE,	/* no relocation writes them: the file's bytes (0 past p_filesz) */
	WORD_RELOCATED, /* an 8-byte word the last relocation to touch it writes whole */
	WORD_MIXED	/* partly relocated: known only once placed */
};

static enum word_fate word_fate(const struct img *im, uint64_t vaddr, uint64_t len,
				uint64_t *addend)
{
	enum word_fate fate = WORD_FILE;

	/* Relocations apply in table order, so the last one to touch the bytes decides. */
	for (uint64_t i = 0; i < im->rela_count; i++) {
		uint64_t where, a;

		if (!rela_ok(im, i, &where, &a))
			return WORD_MIXED; /* img_parse() refused such a table already */
		if (where >= vaddr + len || vaddr >= where + RELOC_WORD)
			continue;
		if (where == vaddr && len == RELOC_WORD) {
			fate = WORD_RELOCATED;
			*addend = a;
		} else {
			fate = WORD_MIXED;
		}
	}
	return fate;
}

/* The bytes a zeroed range holds at [vaddr, vaddr + len) once the segments are copied. */
static void mem_read(const struct img *im, uint64_t vaddr, uint8_t *out, uint64_t len)
{
	for (uint64_t k = 0; k < len; k++) {
		out[k] = 0;
		for (uint32_t i = 0; i < im->load_count; i++) {
			const struct img_load *s = &im->loads[i];

			/* Segments share no byte, so at most one holds it. */
			if (vaddr + k >= s->vaddr && vaddr + k - s->vaddr < s->filesz)
				out[k] = im->p[s->offset + (vaddr + k - s->vaddr)];
		}
	}
}

/*
 * What can be known of the descriptor before the image is placed: the
 * statuses check_module() would give for the same faults, so a caller can
 * trust the image before it makes room for it (seed 000 claim 3). A
 * relocated magic or version word, or an ABI word of the table relocated
 * over, would be base-dependent garbage once placed: refused here as
 * check_module() would refuse it.
 */
static hv_status_t check_module_file(const struct img *im)
{
	uint8_t w[8];
	uint64_t ops = 0, unused = 0;
	const uint64_t ops_field = im->entry + offsetof(struct hv_sched_module, ops);
	const uint64_t ops_abi = offsetof(struct hv_sched_ops, abi_version);

	/* img_parse() put the whole descriptor inside a PT_LOAD segment. */
	if (word_fate(im, im->entry, 8, &unused) != WORD_FILE)
		return HV_ERR_BAD_FORMAT;
	mem_read(im, im->entry, w, 8);
	if (rd32(w) != HV_SCHED_MODULE_MAGIC)
		return HV_ERR_BAD_FORMAT;
	if (rd32(w + 4) != HV_SCHED_ABI_VERSION)
		return HV_ERR_VERSION;
	/* Only a relocated pointer can point into an image whose base is not known yet. */
	if (word_fate(im, ops_field, RELOC_WORD, &ops) != WORD_RELOCATED)
		return HV_ERR_BAD_FORMAT;
	if (!hv_range_within(ops, sizeof(struct hv_sched_ops), 0, im->mem_size) ||
	    !hv_is_aligned(ops, _Alignof(struct hv_sched_ops)))
		return HV_ERR_BAD_FORMAT;
	if (word_fate(im, ops + ops_abi, sizeof(uint32_t), &unused) != WORD_FILE)
		return HV_ERR_VERSION;
	mem_read(im, ops + ops_abi, w, sizeof(uint32_t));
	if (rd32(w) != HV_SCHED_ABI_VERSION)
		return HV_ERR_VERSION;
	return HV_OK;
}

/* ---- the loader ---- */

static bool ranges_overlap(uintptr_t a, size_t alen, uintptr_t b, size_t blen)
{
	return a < b + blen && b < a + alen;
}

hv_status_t hv_sched_loader_init(struct hv_sched_loader *l,
				 const struct hv_sched_loader_config *cfg)
{
	size_t page = hv_port_exec_page_size();
	uintptr_t arena;

	if (l == NULL || cfg == NULL || cfg->arena == NULL || cfg->arena_size == 0)
		return HV_ERR_INVALID_ARG;
	if ((cfg->allowlist == NULL && cfg->allow_count != 0) ||
	    (cfg->scratch == NULL && cfg->scratch_size != 0))
		return HV_ERR_INVALID_ARG;
	arena = (uintptr_t)cfg->arena;
	if (arena > UINTPTR_MAX - cfg->arena_size ||
	    (cfg->scratch != NULL && (uintptr_t)cfg->scratch > UINTPTR_MAX - cfg->scratch_size))
		return HV_ERR_INVALID_ARG;
	if (cfg->scratch != NULL &&
	    ranges_overlap((uintptr_t)cfg->scratch, cfg->scratch_size, arena, cfg->arena_size))
		return HV_ERR_INVALID_ARG;
	if (!hv_is_pow2(page) || !hv_is_aligned(arena, page) ||
	    !hv_is_aligned(cfg->arena_size, page))
		return HV_ERR_ALIGN;
	if (resolve_machine(cfg->machine) == 0)
		return HV_ERR_NOT_SUPPORTED;
	/* Known state, and an arena the port does not own is refused now. */
	hv_status_t st = hv_port_exec_protect(cfg->arena, cfg->arena_size, HV_EXEC_PROT_RW);

	if (st != HV_OK)
		return st;
	hv_memset(l, 0, sizeof(*l));
	l->cfg = *cfg;
	l->page = page;
	return HV_OK;
}

static bool allowed(const struct hv_sched_loader *l, const uint8_t digest[SHA256])
{
	for (uint32_t i = 0; i < l->cfg.allow_count; i++) {
		if (hv_memcmp(l->cfg.allowlist[i], digest, SHA256) == 0)
			return true;
	}
	return false;
}

/* True if slot @p i holds an image and is not the one counted as free. */
static bool slot_taken(const struct hv_sched_loader *l, uint32_t i, uint32_t ignore)
{
	return l->slots[i].used && i != ignore;
}

/* True if [off, off + size) of the arena is free (slot @p ignore counted as free). */
static bool range_free(const struct hv_sched_loader *l, uint64_t off, uint64_t size,
		       uint32_t ignore)
{
	for (uint32_t i = 0; i < HV_SCHED_LOADER_SLOTS; i++) {
		const struct hv_sched_loader_slot *s = &l->slots[i];

		if (slot_taken(l, i, ignore) && off < s->offset + s->size && s->offset < off + size)
			return false;
	}
	return true;
}

/*
 * First fit: the lowest free range of @p size bytes whose address is
 * aligned to @p align. A range starts at the arena's start or right after
 * a used one (after alignment), so those are the only candidates. Slot
 * @p ignore (or ::HV_SCHED_LOADER_SLOT_NONE) counts as free, which gives
 * the answer an unload of it would give.
 */
static bool arena_fit(const struct hv_sched_loader *l, uint64_t size, uint64_t align,
		      uint32_t ignore, size_t *out)
{
	uintptr_t arena = (uintptr_t)l->cfg.arena;
	uint64_t best = UINT64_MAX;

	for (uint32_t i = 0; i <= HV_SCHED_LOADER_SLOTS; i++) {
		uint64_t from, start;

		if (i == HV_SCHED_LOADER_SLOTS)
			from = 0;
		else if (slot_taken(l, i, ignore))
			from = l->slots[i].offset + l->slots[i].size;
		else
			continue;
		/* arena + from is inside the address space (init checked). */
		if (!hv_align_up((uint64_t)arena + from, align, &start))
			continue;
		start -= arena;
		if (start < best && hv_range_within(start, size, 0, l->cfg.arena_size) &&
		    range_free(l, start, size, ignore))
			best = start;
	}
	if (best == UINT64_MAX)
		return false;
	*out = (size_t)best;
	return true;
}

/* Copy the segments into the zeroed range and relocate them. */
static hv_status_t place(const struct img *im, uint8_t *base)
{
	hv_memset(base, 0, (size_t)im->span);
	for (uint32_t i = 0; i < im->load_count; i++) {
		const struct img_load *s = &im->loads[i];

		hv_memcpy(base + s->vaddr, im->p + s->offset, (size_t)s->filesz);
	}
	for (uint64_t i = 0; i < im->rela_count; i++) {
		uint64_t where, addend;

		/* Checked again: see the file comment. */
		if (!rela_ok(im, i, &where, &addend))
			return HV_ERR_BAD_FORMAT;
		wr64(base + where, (uint64_t)(uintptr_t)base + addend);
	}
	return HV_OK;
}

/* True if @p ptr is inside the image at @p base and @p len bytes fit after it. */
static bool ptr_in_image(const struct img *im, uintptr_t base, uintptr_t ptr, uint64_t len)
{
	return hv_range_within(ptr, len, base, im->mem_size);
}

/* True if @p fn is NULL or points into an executable segment. */
static bool fn_ok(const struct img *im, uintptr_t base, uintptr_t fn)
{
	return fn == 0 || (fn >= base && in_segment(im, fn - base, 1, PF_X));
}

/* Check the relocated descriptor; on success *ops is the module's table. */
static hv_status_t check_module(const struct img *im, uint8_t *base,
				const struct hv_sched_ops **ops_out)
{
	struct hv_sched_module desc;
	uintptr_t b = (uintptr_t)base;

	hv_memcpy(&desc, base + im->entry, sizeof(desc));
	if (desc.magic != HV_SCHED_MODULE_MAGIC)
		return HV_ERR_BAD_FORMAT;
	if (desc.abi_version != HV_SCHED_ABI_VERSION)
		return HV_ERR_VERSION;

	uintptr_t o = (uintptr_t)desc.ops;

	if (!ptr_in_image(im, b, o, sizeof(struct hv_sched_ops)) ||
	    !hv_is_aligned(o, _Alignof(struct hv_sched_ops)))
		return HV_ERR_BAD_FORMAT;

	const struct hv_sched_ops *ops = desc.ops;

	if (ops->abi_version != HV_SCHED_ABI_VERSION)
		return HV_ERR_VERSION;
	/* The name must be a string that ends inside the image. */
	uintptr_t name = (uintptr_t)ops->name;

	if (!ptr_in_image(im, b, name, 1) ||
	    hv_strnlen(ops->name, b + im->mem_size - name) == b + im->mem_size - name)
		return HV_ERR_BAD_FORMAT;
	/*
	 * The domain will call these: each must be NULL or code of this image
	 * (the domain itself refuses a table missing a required one).
	 */
	const uintptr_t fns[] = {
		(uintptr_t)ops->check_params,
		(uintptr_t)ops->cpu_init,
		(uintptr_t)ops->entity_init,
		(uintptr_t)ops->enqueue,
		(uintptr_t)ops->dequeue,
		(uintptr_t)ops->pick,
		(uintptr_t)ops->tick,
		(uintptr_t)ops->preempts,
		(uintptr_t)ops->next_event,
		(uintptr_t)ops->top_prio,
		(uintptr_t)ops->steal_candidate,
		(uintptr_t)ops->export_state,
		(uintptr_t)ops->import_state,
		(uintptr_t)ops->yield,
	};

	for (size_t i = 0; i < HV_ARRAY_SIZE(fns); i++) {
		if (!fn_ok(im, b, fns[i]))
			return HV_ERR_BAD_FORMAT;
	}
	*ops_out = ops;
	return HV_OK;
}

static void fill_info(const struct hv_sched_loader *l, uint32_t slot,
		      struct hv_sched_loaded_info *out)
{
	const struct hv_sched_loader_slot *s = &l->slots[slot];

	out->slot = slot;
	out->ops = s->ops;
	out->base = (uint8_t *)l->cfg.arena + s->offset;
	out->size = s->size;
	hv_memcpy(out->digest, s->digest, SHA256);
	out->name = s->ops->name;
}

hv_status_t hv_sched_loader_load(struct hv_sched_loader *l, const void *image, size_t size,
				 struct hv_sched_loaded_info *out)
{
	uint8_t digest[SHA256];
	struct img im;
	const struct hv_sched_ops *ops = NULL;
	uint32_t slot;
	size_t off;
	uint8_t *base;
	hv_status_t st;

	if (l == NULL || image == NULL || (uintptr_t)image > UINTPTR_MAX - size)
		return HV_ERR_INVALID_ARG;
	if (ranges_overlap((uintptr_t)image, size, (uintptr_t)l->cfg.arena, l->cfg.arena_size))
		return HV_ERR_INVALID_ARG;
	/* Seed 000 claim 2: the request names the image; only approved bytes are parsed. */
	hv_sha256(image, size, digest);
	if (!allowed(l, digest))
		return HV_ERR_INTEGRITY;
	st = img_parse(&im, image, size, l->cfg.machine);
	if (st == HV_OK)
		st = check_module_file(&im);
	if (st != HV_OK)
		return st;
	for (slot = 0; slot < HV_SCHED_LOADER_SLOTS && l->slots[slot].used; slot++)
		;
	if (slot == HV_SCHED_LOADER_SLOTS ||
	    !arena_fit(l, im.span, im.align, HV_SCHED_LOADER_SLOT_NONE, &off))
		return HV_ERR_NO_SPACE;

	base = (uint8_t *)l->cfg.arena + off;
	st = place(&im, base);
	if (st == HV_OK)
		st = check_module(&im, base, &ops);
	if (st == HV_OK)
		st = hv_port_exec_protect(base, (size_t)im.span, HV_EXEC_PROT_RX);
	if (st != HV_OK) {
		/*
		 * Nothing was recorded, so the range is free again; leave it
		 * zeroed and writable, as an unused arena range is. A failed
		 * RX switch may have changed part of it, hence RW first.
		 */
		if (hv_port_exec_protect(base, (size_t)im.span, HV_EXEC_PROT_RW) == HV_OK)
			hv_memset(base, 0, (size_t)im.span);
		return st;
	}

	struct hv_sched_loader_slot *s = &l->slots[slot];

	s->used = true;
	s->offset = off;
	s->size = (size_t)im.span;
	s->ops = ops;
	hv_memcpy(s->digest, digest, SHA256);
	if (out != NULL)
		fill_info(l, slot, out);
	return HV_OK;
}

hv_status_t hv_sched_loader_stage_guest(struct hv_sched_loader *l, hv_guest_id_t guest,
					hv_gpa_t gpa, size_t size, struct hv_sched_image_info *info)
{
	uint8_t digest[SHA256];
	struct img im;
	hv_status_t st;

	if (l == NULL)
		return HV_ERR_INVALID_ARG;
	if (size > l->cfg.scratch_size)
		return HV_ERR_RANGE;
	if (size == 0)
		return HV_ERR_BAD_FORMAT; /* not even an ELF header */
	/* The scratch is about to change: whatever was staged is gone. */
	l->staged = 0;
	/* A private copy: the guest cannot change the bytes once they are hashed. */
	st = hv_port_guest_read(guest, gpa, l->cfg.scratch, size);
	if (st != HV_OK)
		return st;
	/* Seed 000 claim 2: only approved bytes are parsed. */
	hv_sha256(l->cfg.scratch, size, digest);
	if (!allowed(l, digest))
		return HV_ERR_INTEGRITY;
	st = img_parse(&im, l->cfg.scratch, size, l->cfg.machine);
	if (st == HV_OK)
		st = check_module_file(&im);
	if (st != HV_OK)
		return st;
	l->staged = size;
	if (info != NULL) {
		info->machine = im.machine;
		info->load_count = im.load_count;
		info->reloc_count = im.rela_count;
		info->mem_size = im.mem_size;
		info->span = im.span;
		info->align = im.align;
		info->entry = im.entry;
	}
	return HV_OK;
}

hv_status_t hv_sched_loader_load_staged(struct hv_sched_loader *l, struct hv_sched_loaded_info *out)
{
	size_t size;

	if (l == NULL)
		return HV_ERR_INVALID_ARG;
	if (l->staged == 0)
		return HV_ERR_STATE;
	size = l->staged;
	l->staged = 0;
	/*
	 * Checked again from the digest on: the scratch is the loader's own,
	 * but the digest is what vouches for the bytes placed.
	 */
	return hv_sched_loader_load(l, l->cfg.scratch, size, out);
}

bool hv_sched_loader_fits(const struct hv_sched_loader *l, uint64_t span, uint64_t align,
			  uint32_t ignore_slot)
{
	bool slot_free = false;
	size_t off;

	if (l == NULL || span == 0 || !hv_is_pow2(align))
		return false;
	for (uint32_t i = 0; i < HV_SCHED_LOADER_SLOTS; i++)
		slot_free = slot_free || !slot_taken(l, i, ignore_slot);
	return slot_free && arena_fit(l, span, align, ignore_slot, &off);
}

hv_status_t hv_sched_loader_load_guest(struct hv_sched_loader *l, hv_guest_id_t guest, hv_gpa_t gpa,
				       size_t size, struct hv_sched_loaded_info *out)
{
	hv_status_t st = hv_sched_loader_stage_guest(l, guest, gpa, size, NULL);

	if (st != HV_OK)
		return st;
	return hv_sched_loader_load_staged(l, out);
}

hv_status_t hv_sched_loader_unload(struct hv_sched_loader *l, uint32_t slot)
{
	struct hv_sched_loader_slot *s;
	hv_status_t st;

	if (l == NULL)
		return HV_ERR_INVALID_ARG;
	if (slot >= HV_SCHED_LOADER_SLOTS)
		return HV_ERR_RANGE;
	s = &l->slots[slot];
	if (!s->used)
		return HV_ERR_NOT_FOUND;
	/*
	 * Seed 000 claim 3: the range becomes free for the next image. Free
	 * arena bytes are always zero, so no stale code outlives its image
	 * and a failed load (which zeroes what it tried) changes nothing.
	 */
	uint8_t *base = (uint8_t *)l->cfg.arena + s->offset;

	st = hv_port_exec_protect(base, s->size, HV_EXEC_PROT_RW);
	if (st != HV_OK)
		return st;
	hv_memset(base, 0, s->size);
	hv_memset(s, 0, sizeof(*s));
	return HV_OK;
}

hv_status_t hv_sched_loader_info(const struct hv_sched_loader *l, uint32_t slot,
				 struct hv_sched_loaded_info *out)
{
	if (l == NULL || out == NULL)
		return HV_ERR_INVALID_ARG;
	if (slot >= HV_SCHED_LOADER_SLOTS)
		return HV_ERR_RANGE;
	if (!l->slots[slot].used)
		return HV_ERR_NOT_FOUND;
	fill_info(l, slot, out);
	return HV_OK;
}

hv_status_t hv_sched_loader_find(const struct hv_sched_loader *l,
				 const uint8_t digest[HV_SHA256_DIGEST_SIZE], uint32_t *slot)
{
	if (l == NULL || digest == NULL || slot == NULL)
		return HV_ERR_INVALID_ARG;
	for (uint32_t i = 0; i < HV_SCHED_LOADER_SLOTS; i++) {
		if (l->slots[i].used && hv_memcmp(l->slots[i].digest, digest, SHA256) == 0) {
			*slot = i;
			return HV_OK;
		}
	}
	return HV_ERR_NOT_FOUND;
}

size_t hv_sched_loader_largest_free(const struct hv_sched_loader *l)
{
	size_t best = 0, from = 0;

	if (l == NULL)
		return 0;
	/* Walk the used ranges in address order (at most 8: quadratic is fine). */
	for (;;) {
		size_t next = l->cfg.arena_size, next_end = l->cfg.arena_size;

		for (uint32_t i = 0; i < HV_SCHED_LOADER_SLOTS; i++) {
			const struct hv_sched_loader_slot *s = &l->slots[i];

			if (s->used && s->offset >= from && s->offset < next) {
				next = s->offset;
				next_end = s->offset + s->size;
			}
		}
		if (next - from > best)
			best = next - from;
		if (next == l->cfg.arena_size)
			return best;
		from = next_end;
	}
}

uint32_t hv_sched_loader_free_slots(const struct hv_sched_loader *l)
{
	uint32_t n = 0;

	if (l == NULL)
		return 0;
	for (uint32_t i = 0; i < HV_SCHED_LOADER_SLOTS; i++)
		n += l->slots[i].used ? 0u : 1u;
	return n;
}
