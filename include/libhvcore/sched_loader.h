/**
 * @file
 * @brief Scheduler image loader: scheduler modules loaded while the
 *        hypervisor runs.
 *
 * Model. A scheduler module is a position-independent ELF64 image (ET_DYN)
 * that holds one ::hv_sched_ops table and a descriptor
 * (::hv_sched_module) naming it; the image's ELF entry point is the
 * descriptor's address, so no symbol table is needed. The project builds
 * its own schedulers this way (lib/sched/modules: hvsched-rr.elf,
 * hvsched-bvt.elf, hvsched-fp.elf). The service VM hands an image over as
 * a guest-physical range (a second scheduler is
 * loaded while the VMM runs, chosen by the request's parameter, here the
 * image and its digest).
 *
 * hv_sched_loader_load() refuses every image whose SHA-256 digest is not on
 * the embedder's allowlist before parsing a byte of it, then validates
 * every header, segment and relocation (hv_sched_image_check()), copies the
 * segments into a free range of an arena the embedder provides, applies the
 * relocations, checks the descriptor and finally makes the range
 * executable and read-only through the port (port/exec.h). The arena is
 * writable and never executable while an image is placed. A refused image
 * leaves the loader exactly as it was, and the loader never touches a
 * running scheduler: activating a loaded ops table is the scheduler
 * manager's job.
 *
 * Accepted images: ELF64, little-endian, ET_DYN, EV_CURRENT, for the
 * configured machine (AArch64 or x86-64); program headers and every
 * PT_LOAD segment inside the file (at most ::HV_SCHED_IMAGE_MAX_LOADS of
 * them, none empty), p_filesz <= p_memsz, p_align 0 or a
 * power of two up to ::HV_SCHED_IMAGE_MAX_ALIGN, no two PT_LOAD segments
 * overlapping in memory, no segment writable and executable, the whole
 * image (its highest p_vaddr + p_memsz) at most ::HV_SCHED_IMAGE_MAX_SPAN;
 * no PT_INTERP, PT_TLS or PT_SHLIB; at most one PT_DYNAMIC, inside the
 * file-backed part of a PT_LOAD segment. Its dynamic section may hold
 * DT_RELA / DT_RELASZ / DT_RELAENT (24) and tags that only describe symbol
 * lookup or flags (DT_HASH, DT_GNU_HASH, DT_STRTAB, DT_SYMTAB, DT_STRSZ,
 * DT_SYMENT, DT_SONAME, DT_SYMBOLIC, DT_DEBUG, DT_PLTGOT, DT_PLTREL,
 * DT_BIND_NOW, DT_FLAGS without DF_TEXTREL / DF_STATIC_TLS, DT_FLAGS_1,
 * DT_RELACOUNT, DT_VERSYM, DT_VERDEF, DT_VERDEFNUM); every other tag is
 * refused, since it may ask for work this loader does not do (DT_NEEDED,
 * DT_TEXTREL, DT_REL, DT_RELR, DT_VERNEED, constructors, or a non-zero
 * DT_JMPREL / DT_PLTRELSZ table). Every relocation is the machine's
 * RELATIVE type with symbol 0, writes 8 bytes inside a writable PT_LOAD
 * segment and has an addend inside the image. e_entry is 8-byte aligned
 * with the descriptor inside a PT_LOAD segment; a section header table, if
 * any, lies inside the file (sections are not otherwise used). EI_OSABI
 * and e_flags are ignored: they ask nothing of a loader that resolves no
 * symbols. Nothing is run at load time.
 *
 * A loaded image is read-only as a whole: its writable segments exist only
 * to be relocated (GOT, .data.rel.ro, like RELRO), and a module keeps all
 * mutable state in the scheduling domain's storage (per-CPU and
 * per-entity), as the built-in schedulers do.
 *
 * Statuses: ::HV_ERR_BAD_FORMAT for a malformed image or descriptor (the
 * class, byte order or machine of a well-formed ELF header aside, which
 * give ::HV_ERR_NOT_SUPPORTED: an image for another platform);
 * ::HV_ERR_INTEGRITY for a digest not on the allowlist; ::HV_ERR_VERSION
 * for a descriptor or ops table of another ABI version; ::HV_ERR_NO_SPACE
 * when no slot is free or no arena range is large enough (unload an image
 * first); ::HV_ERR_RANGE for a guest image larger than
 * the scratch buffer; guest copy statuses (::HV_ERR_FAULT,
 * ::HV_ERR_OVERFLOW, ::HV_ERR_NOT_FOUND) unchanged.
 *
 * Locking: none inside. The caller serialises every call that changes a
 * loader (init, load, load_guest, stage_guest, load_staged, unload),
 * normally under the scheduler manager's or service's lock; the query
 * functions may run concurrently with each other but not with a change.
 * hv_sched_image_check() has no state and may run anywhere. All storage
 * (arena, scratch, allowlist) belongs to the caller and must stay valid
 * while the loader is used.
 */
#ifndef LIBHVCORE_SCHED_LOADER_H
#define LIBHVCORE_SCHED_LOADER_H

#include <libhvcore/base/sha256.h>
#include <libhvcore/sched.h>
#include <libhvcore/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief ::hv_sched_module::magic: "HVSM" in little-endian byte order. */
#define HV_SCHED_MODULE_MAGIC 0x4d535648u
/** @brief Images one loader holds at once. */
#define HV_SCHED_LOADER_SLOTS 8u
/** @brief Largest image in memory (highest p_vaddr + p_memsz), in bytes. */
#define HV_SCHED_IMAGE_MAX_SPAN 0x1000000u /* 16 MiB */
/** @brief Largest p_align of a PT_LOAD segment (the arena base is aligned to it). */
#define HV_SCHED_IMAGE_MAX_ALIGN 0x10000u /* 64 KiB */
/** @brief Largest e_phnum accepted. */
#define HV_SCHED_IMAGE_MAX_PHDRS 64u
/** @brief Largest number of PT_LOAD segments accepted. */
#define HV_SCHED_IMAGE_MAX_LOADS 16u
/** @brief ELF e_machine of AArch64 images. */
#define HV_SCHED_EM_AARCH64 183u
/** @brief ELF e_machine of x86-64 images. */
#define HV_SCHED_EM_X86_64 62u

/**
 * @brief Descriptor of a scheduler module, at the image's ELF entry point.
 *
 * A module defines one, e.g.
 * `const struct hv_sched_module hv_sched_module_desc = {HV_SCHED_MODULE_MAGIC,
 * HV_SCHED_ABI_VERSION, &hv_sched_bvt_ops};`, and is linked with
 * `-e hv_sched_module_desc`.
 */
struct hv_sched_module {
	uint32_t magic;			/**< ::HV_SCHED_MODULE_MAGIC. */
	uint32_t abi_version;		/**< ::HV_SCHED_ABI_VERSION; so is ops->abi_version. */
	const struct hv_sched_ops *ops; /**< The scheduler, inside the image. */
};

/** @brief What hv_sched_image_check() found in a valid image. */
struct hv_sched_image_info {
	uint16_t machine;     /**< e_machine. */
	uint32_t load_count;  /**< PT_LOAD segments. */
	uint64_t reloc_count; /**< RELATIVE relocations. */
	uint64_t mem_size;    /**< Highest p_vaddr + p_memsz. */
	/** Arena bytes the image needs: @c mem_size rounded up to hv_port_exec_page_size(). */
	uint64_t span;
	/** Alignment of its arena range: the page size or the largest p_align if larger. */
	uint64_t align;
	uint64_t entry; /**< e_entry: image offset of the ::hv_sched_module descriptor. */
};

/** @brief Configuration of hv_sched_loader_init(); all storage belongs to the caller. */
struct hv_sched_loader_config {
	/** Executable arena: aligned to hv_port_exec_page_size(), the port's to protect. */
	void *arena;
	size_t arena_size;				   /**< A multiple of the page size. */
	const uint8_t (*allowlist)[HV_SHA256_DIGEST_SIZE]; /**< Digests of loadable images. */
	uint32_t allow_count; /**< Entries in @c allowlist (0: load nothing). */
	void *scratch;	      /**< Buffer hv_sched_loader_load_guest() copies an image into. */
	size_t scratch_size;  /**< Largest image hv_sched_loader_load_guest() takes. */
	/** ELF e_machine accepted; 0: the build's own (::HV_SCHED_EM_AARCH64 or
	 * ::HV_SCHED_EM_X86_64). */
	uint16_t machine;
};

/** @brief One loaded image. Storage for the loader; fields are private. */
struct hv_sched_loader_slot {
	bool used;			       /**< Holds an image. */
	size_t offset;			       /**< Start in the arena. */
	size_t size;			       /**< Arena bytes (the image's span). */
	const struct hv_sched_ops *ops;	       /**< Its scheduler. */
	uint8_t digest[HV_SHA256_DIGEST_SIZE]; /**< SHA-256 of the image file. */
};

/** @brief "No slot": the @c ignore_slot of hv_sched_loader_fits() that ignores none. */
#define HV_SCHED_LOADER_SLOT_NONE UINT32_MAX

/** @brief A loader. Initialise with hv_sched_loader_init(); fields are private. */
struct hv_sched_loader {
	struct hv_sched_loader_config cfg;			  /**< Copy of the configuration. */
	size_t page;						  /**< Protection granule. */
	struct hv_sched_loader_slot slots[HV_SCHED_LOADER_SLOTS]; /**< Loaded images. */
	size_t staged; /**< Bytes of a checked image waiting in the scratch buffer (0: none). */
};

/** @brief A loaded image, as hv_sched_loader_load() and hv_sched_loader_info() report it. */
struct hv_sched_loaded_info {
	uint32_t slot;			       /**< Slot index, for hv_sched_loader_unload(). */
	const struct hv_sched_ops *ops;	       /**< Its scheduler, valid until unloaded. */
	void *base;			       /**< First byte in the arena (image offset 0). */
	size_t size;			       /**< Arena bytes it occupies. */
	uint8_t digest[HV_SHA256_DIGEST_SIZE]; /**< SHA-256 of the image file. */
	const char *name;		       /**< ops->name, inside the image. */
};

/**
 * @brief Initialise a loader over an empty arena.
 *
 * Makes the whole arena writable and not executable through the port, so
 * the port refuses an arena that is not its to protect right here.
 * @param l   Loader storage.
 * @param cfg Configuration (copied; the storage it names is not).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p l / @p cfg, a NULL or
 *         empty arena, a NULL allowlist with a non-zero count, a NULL
 *         scratch with a non-zero size, or a scratch buffer overlapping the
 *         arena; ::HV_ERR_ALIGN for an arena or size not a multiple of the
 *         page size; ::HV_ERR_NOT_SUPPORTED for a machine other than AArch64
 *         and x86-64 (or machine 0 on another build); or the port's
 *         protection status.
 * @par Locking
 * None: not thread-safe; finish it before any other call on the loader.
 */
hv_status_t hv_sched_loader_init(struct hv_sched_loader *l,
				 const struct hv_sched_loader_config *cfg);

/**
 * @brief Validate an image without loading it (no side effects).
 *
 * Checks everything the file says (see the file comment): headers,
 * segments, dynamic section and relocations. The descriptor's contents are
 * checked at load time, once relocated.
 * @param image   Image bytes.
 * @param size    Byte count.
 * @param machine e_machine expected; 0: the build's own.
 * @param info    Out (may be NULL): what the image needs.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for a NULL @p image with a non-zero
 *         size; ::HV_ERR_BAD_FORMAT for a malformed image;
 *         ::HV_ERR_NOT_SUPPORTED for another class, byte order or machine
 *         (or an unknown @p machine).
 * @par Locking
 * None; reads only @p image.
 */
hv_status_t hv_sched_image_check(const void *image, size_t size, uint16_t machine,
				 struct hv_sched_image_info *info);

/**
 * @brief Load an image held in hypervisor memory.
 *
 * In order: the digest (SHA-256 of the @p size bytes) must be on the
 * allowlist; the image must pass hv_sched_image_check(); the descriptor
 * must pass the file-level checks hv_sched_loader_stage_guest() lists; a
 * slot and an arena range (first fit) must be free; the range is zeroed,
 * the segments copied and relocated (base + addend); the descriptor must
 * carry ::HV_SCHED_MODULE_MAGIC, ::HV_SCHED_ABI_VERSION and an ops pointer
 * inside the image whose abi_version matches, whose name is a string inside
 * the image and whose function pointers are NULL or inside an executable
 * segment; then the range becomes executable and read-only. Loading the
 * same image twice takes two slots.
 * @param l     Loader.
 * @param image Image bytes; must not change during the call and must not
 *              overlap the arena (hv_sched_loader_load_guest() copies
 *              guest memory to the scratch buffer first).
 * @param size  Byte count.
 * @param out   Out (may be NULL): the loaded image.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers or an image
 *         overlapping the arena; ::HV_ERR_INTEGRITY; the statuses of
 *         hv_sched_image_check(); ::HV_ERR_NO_SPACE; ::HV_ERR_BAD_FORMAT or
 *         ::HV_ERR_VERSION for the descriptor; the port's protection
 *         status. On error the loader and its arena are as before (the
 *         range tried is zeroed and free again).
 * @par Locking
 * The caller serialises changes (see the file comment).
 */
hv_status_t hv_sched_loader_load(struct hv_sched_loader *l, const void *image, size_t size,
				 struct hv_sched_loaded_info *out);

/**
 * @brief Load an image the service VM handed over as a guest-physical range.
 *
 * Copies the range into the scratch buffer through hv_port_guest_read()
 * (the guest cannot change the bytes after the digest check), then
 * behaves as hv_sched_loader_load(): hv_sched_loader_stage_guest() followed
 * by hv_sched_loader_load_staged(). Nothing stays staged afterwards.
 * @param l     Loader.
 * @param guest Guest whose memory holds the image.
 * @param gpa   First byte of the image.
 * @param size  Byte count.
 * @param out   Out (may be NULL): the loaded image.
 * @return As hv_sched_loader_load(); also ::HV_ERR_RANGE if @p size exceeds
 *         the scratch size, and the status of hv_port_guest_read()
 *         (::HV_ERR_FAULT, ::HV_ERR_OVERFLOW, ::HV_ERR_NOT_FOUND).
 * @par Locking
 * The caller serialises changes; the scratch buffer is one per loader.
 */
hv_status_t hv_sched_loader_load_guest(struct hv_sched_loader *l, hv_guest_id_t guest, hv_gpa_t gpa,
				       size_t size, struct hv_sched_loaded_info *out);

/**
 * @brief Copy an image out of guest memory and check everything that can
 *        be checked before it is placed, without placing it.
 *
 * Copies the range into the scratch buffer through hv_port_guest_read(),
 * then checks, as hv_sched_loader_load() does and with its statuses, the
 * digest against the allowlist, the file (hv_sched_image_check()) and the
 * descriptor as far as the file shows it: its magic and ABI version (no
 * relocation may write them), its ops pointer (written by one RELATIVE
 * relocation, to a whole aligned table inside the image) and that table's
 * ABI version. What only placing can show (the name and function pointers
 * once relocated, the port's protection) is left to
 * hv_sched_loader_load_staged(). On success the image stays staged until
 * hv_sched_loader_load_staged(), the next stage or hv_sched_loader_load_guest();
 * the slots and the arena are never touched, so a caller can check a new
 * image before it unloads an old one to make room.
 * @param l     Loader.
 * @param guest Guest whose memory holds the image.
 * @param gpa   First byte of the image.
 * @param size  Byte count.
 * @param info  Out (may be NULL): what the image needs (span and alignment
 *              for hv_sched_loader_fits()).
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p l; ::HV_ERR_RANGE if
 *         @p size exceeds the scratch size; ::HV_ERR_BAD_FORMAT for a zero
 *         size; the status of hv_port_guest_read(); ::HV_ERR_INTEGRITY; the
 *         statuses of hv_sched_image_check(); ::HV_ERR_BAD_FORMAT or
 *         ::HV_ERR_VERSION for the descriptor. On error nothing is staged
 *         (an image staged before is dropped once the scratch is written).
 * @par Locking
 * The caller serialises changes; the scratch buffer is one per loader.
 */
hv_status_t hv_sched_loader_stage_guest(struct hv_sched_loader *l, hv_guest_id_t guest,
					hv_gpa_t gpa, size_t size,
					struct hv_sched_image_info *info);

/**
 * @brief Load the image hv_sched_loader_stage_guest() left in the scratch
 *        buffer, as hv_sched_loader_load() does; the image is then no
 *        longer staged, whatever the result.
 * @param l   Loader.
 * @param out Out (may be NULL): the loaded image.
 * @return As hv_sched_loader_load(); ::HV_ERR_INVALID_ARG for NULL @p l;
 *         ::HV_ERR_STATE if no image is staged.
 * @par Locking
 * The caller serialises changes.
 */
hv_status_t hv_sched_loader_load_staged(struct hv_sched_loader *l,
					struct hv_sched_loaded_info *out);

/**
 * @brief Would an image fit, were slot @p ignore_slot free?
 *
 * True if a slot is free (or @p ignore_slot holds an image) and the first
 * fit hv_sched_loader_load() uses finds @p span bytes aligned to @p align
 * with @p ignore_slot's range counted as free: exactly when loading the
 * image after hv_sched_loader_unload(l, ignore_slot) finds room. Lets a
 * caller unload an old scheduler only when that makes room for the new one.
 * @param l           Loader.
 * @param span        hv_sched_image_info::span of the image.
 * @param align       hv_sched_image_info::align of the image.
 * @param ignore_slot A slot to count as free, or ::HV_SCHED_LOADER_SLOT_NONE.
 * @return The answer; false for NULL @p l, a zero @p span or an @p align
 *         that is not a power of two.
 * @par Locking
 * Not concurrently with a change.
 */
bool hv_sched_loader_fits(const struct hv_sched_loader *l, uint64_t span, uint64_t align,
			  uint32_t ignore_slot);

/**
 * @brief Unload the image in @p slot: its range becomes writable again (not
 *        executable), zeroed and free.
 *
 * The caller guarantees that nothing uses the image any more: no domain
 * runs its ops table and no CPU is inside its code (the scheduler manager
 * re-activates another scheduler first). Unloading an
 * image makes room to load another.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL @p l; ::HV_ERR_RANGE for a
 *         slot index out of range; ::HV_ERR_NOT_FOUND for an empty slot; the
 *         port's protection status (the image then stays loaded).
 * @par Locking
 * The caller serialises changes.
 */
hv_status_t hv_sched_loader_unload(struct hv_sched_loader *l, uint32_t slot);

/**
 * @brief Describe the image in @p slot.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers; ::HV_ERR_RANGE
 *         for a slot index out of range; ::HV_ERR_NOT_FOUND for an empty slot.
 * @par Locking
 * Not concurrently with a change.
 */
hv_status_t hv_sched_loader_info(const struct hv_sched_loader *l, uint32_t slot,
				 struct hv_sched_loaded_info *out);

/**
 * @brief Find a loaded image by digest (the lowest slot holding it).
 * @param l      Loader.
 * @param digest SHA-256 of the image file.
 * @param slot   Out: its slot index.
 * @return ::HV_OK; ::HV_ERR_INVALID_ARG for NULL pointers;
 *         ::HV_ERR_NOT_FOUND if no slot holds it.
 * @par Locking
 * Not concurrently with a change.
 */
hv_status_t hv_sched_loader_find(const struct hv_sched_loader *l,
				 const uint8_t digest[HV_SHA256_DIGEST_SIZE], uint32_t *slot);

/**
 * @brief Largest free run of arena bytes (a multiple of the page size).
 *
 * An image fits if a slot is free and its hv_sched_image_info::span is at
 * most this (with an alignment above the page size it may need more). A
 * caller with no room can unload the old scheduler first.
 * @return Bytes; 0 for NULL @p l or a full arena.
 * @par Locking
 * Not concurrently with a change.
 */
size_t hv_sched_loader_largest_free(const struct hv_sched_loader *l);

/**
 * @brief Number of free slots.
 * @return 0 .. ::HV_SCHED_LOADER_SLOTS; 0 for NULL @p l.
 * @par Locking
 * Not concurrently with a change.
 */
uint32_t hv_sched_loader_free_slots(const struct hv_sched_loader *l);

#ifdef __cplusplus
}
#endif

#endif /* LIBHVCORE_SCHED_LOADER_H */
