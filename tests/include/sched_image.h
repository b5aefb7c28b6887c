/*
 * The scheduler module images this build makes (lib/sched/modules:
 * hvsched-rr.elf, hvsched-bvt.elf, hvsched-fp.elf), for the tests that load
 * them: reading them from the build tree with their digests, copying one
 * to mutate, and finding the ELF parts a mutation targets with <elf.h>,
 * independently of the loader's own parser.
 *
 * Only for test programs that tests/CMakeLists.txt gives the images'
 * paths (HVSCHED_ELF_<NAME>). Header-only (static inline), so it links
 * into nothing else. Include it after <cmocka.h>.
 */
#ifndef TESTS_SCHED_IMAGE_H
#define TESTS_SCHED_IMAGE_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <libhvcore/base/sha256.h>
#include <libhvcore/sched_loader.h>

/* The modules, in the order of img_paths[]. */
enum {
	RR = 0,
	BVT = 1,
	FP = 2,
	NMOD = 3
};

static const char *const img_paths[NMOD] = {HVSCHED_ELF_RR, HVSCHED_ELF_BVT, HVSCHED_ELF_FP};

struct sched_image {
	uint8_t *p;
	size_t size;
};

static inline struct sched_image img_read(const char *path)
{
	struct sched_image im = {0};
	FILE *f = fopen(path, "rb");
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	im.size = (size_t)n;
	im.p = malloc(im.size);
	assert_non_null(im.p);
	assert_int_equal(fread(im.p, 1, im.size, f), im.size);
	assert_int_equal(fclose(f), 0);
	return im;
}

/* Read every module into @p mods and put module m's digest in @p allow[m]. */
static inline void img_read_modules(struct sched_image mods[NMOD],
				    uint8_t allow[][HV_SHA256_DIGEST_SIZE])
{
	for (int m = 0; m < NMOD; m++) {
		mods[m] = img_read(img_paths[m]);
		hv_sha256(mods[m].p, mods[m].size, allow[m]);
	}
}

static inline void img_free_modules(struct sched_image mods[NMOD])
{
	for (int m = 0; m < NMOD; m++)
		free(mods[m].p);
}

/* A copy of @p src to mutate; the caller frees its bytes. */
static inline struct sched_image img_dup(const struct sched_image *src)
{
	struct sched_image im = {malloc(src->size), src->size};

	assert_non_null(im.p);
	memcpy(im.p, src->p, im.size);
	return im;
}

/* What hv_sched_image_check() reports for @p im, which must pass it. */
static inline struct hv_sched_image_info img_info(const struct sched_image *im)
{
	struct hv_sched_image_info info;

	assert_int_equal(hv_sched_image_check(im->p, im->size, 0, &info), HV_OK);
	return info;
}

/* A fresh read-write mapping each case: nothing from the last one stays executable. */
static inline uint8_t *img_arena_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

/* A loader over @p arena for this host's machine, with @p allow_count digests allowed. */
static inline struct hv_sched_loader_config
img_loader_config(void *arena, size_t arena_size, const uint8_t (*allow)[HV_SHA256_DIGEST_SIZE],
		  uint32_t allow_count, void *scratch, size_t scratch_size)
{
	struct hv_sched_loader_config cfg = {
		.arena = arena,
		.arena_size = arena_size,
		.allowlist = allow,
		.allow_count = allow_count,
		.scratch = scratch,
		.scratch_size = scratch_size,
		.machine = 0,
	};
	return cfg;
}

/* ---- the ELF parts a mutation targets ---- */

static inline Elf64_Ehdr *img_ehdr(struct sched_image *im)
{
	return (Elf64_Ehdr *)(void *)im->p;
}

static inline Elf64_Phdr *img_phdr(struct sched_image *im, unsigned i)
{
	return (Elf64_Phdr *)(void *)(im->p + img_ehdr(im)->e_phoff) + i;
}

/* The @p n-th program header of type @p type. */
static inline Elf64_Phdr *img_find_phdr(struct sched_image *im, uint32_t type, unsigned n)
{
	for (unsigned i = 0; i < img_ehdr(im)->e_phnum; i++) {
		if (img_phdr(im, i)->p_type == type && n-- == 0)
			return img_phdr(im, i);
	}
	fail_msg("no program header of type %u", type);
	return NULL;
}

/* File offset of a virtual address inside a PT_LOAD's file part. */
static inline size_t img_off_of(struct sched_image *im, uint64_t vaddr)
{
	for (unsigned i = 0; i < img_ehdr(im)->e_phnum; i++) {
		Elf64_Phdr *p = img_phdr(im, i);

		if (p->p_type == PT_LOAD && vaddr >= p->p_vaddr && vaddr < p->p_vaddr + p->p_filesz)
			return (size_t)(p->p_offset + vaddr - p->p_vaddr);
	}
	fail_msg("vaddr %#lx not in the file", (unsigned long)vaddr);
	return 0;
}

static inline Elf64_Dyn *img_dyn(struct sched_image *im, unsigned *count)
{
	Elf64_Phdr *d = img_find_phdr(im, PT_DYNAMIC, 0);

	*count = (unsigned)(d->p_filesz / sizeof(Elf64_Dyn));
	return (Elf64_Dyn *)(void *)(im->p + d->p_offset);
}

static inline Elf64_Dyn *img_find_dyn(struct sched_image *im, int64_t tag)
{
	unsigned n;
	Elf64_Dyn *d = img_dyn(im, &n);

	for (unsigned i = 0; i < n; i++) {
		if (d[i].d_tag == tag)
			return &d[i];
	}
	fail_msg("no dynamic tag %ld", (long)tag);
	return NULL;
}

static inline Elf64_Rela *img_rela(struct sched_image *im, unsigned *count)
{
	*count = (unsigned)(img_find_dyn(im, DT_RELASZ)->d_un.d_val / sizeof(Elf64_Rela));
	return (Elf64_Rela *)(void *)(im->p +
				      img_off_of(im, img_find_dyn(im, DT_RELA)->d_un.d_ptr));
}

/* The relocation that writes the word at @p vaddr. */
static inline Elf64_Rela *img_rela_at(struct sched_image *im, uint64_t vaddr)
{
	unsigned n;
	Elf64_Rela *r = img_rela(im, &n);

	for (unsigned i = 0; i < n; i++) {
		if (r[i].r_offset == vaddr)
			return &r[i];
	}
	fail_msg("no relocation at %#lx", (unsigned long)vaddr);
	return NULL;
}

/* Image offset of the module descriptor (struct hv_sched_module). */
static inline uint64_t img_desc_vaddr(struct sched_image *im)
{
	return img_ehdr(im)->e_entry;
}

/* Image offset of the module's ops table: the descriptor's relocated pointer. */
static inline uint64_t img_ops_vaddr(struct sched_image *im)
{
	return (uint64_t)img_rela_at(im, img_desc_vaddr(im) + offsetof(struct hv_sched_module, ops))
		->r_addend;
}

/*
 * A writable word nothing reads: the value of the dynamic section's last
 * DT_NULL (the loader reads the dynamic section from the file, not from
 * the arena). Moving a relocation there leaves its real target unrelocated.
 */
static inline uint64_t img_spare_word(struct sched_image *im)
{
	Elf64_Phdr *d = img_find_phdr(im, PT_DYNAMIC, 0);
	unsigned n;

	assert_int_equal(img_dyn(im, &n)[n - 1].d_tag, DT_NULL);
	return d->p_vaddr + d->p_filesz - 8;
}

#endif /* TESTS_SCHED_IMAGE_H */
