/*
 * The x86 MMIO instruction decoder (libhvcore/x86/insn.h). Every sequence
 * below is encoded by hand from the Intel SDM (vol. 2, chapter 2 and the
 * opcode maps) or copied from gcc 12 / clang 14 -O2 output for volatile
 * accesses (marked "gcc:" or "clang:"); the comment gives the assembly.
 * The same sequences are the seed corpus of fuzz.x86_insn
 * (tests/fuzz/corpus/x86_insn/), where Zydis checks them again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <libhvcore/x86/insn.h>

#define NONE HV_X86_REG_NONE
#define M64  HV_X86_MODE_64
#define M32  HV_X86_MODE_32
#define RD   HV_ACCESS_READ
#define WR   HV_ACCESS_WRITE
/* A string literal of instruction bytes and its length. */
#define BYTES(s) .bytes = (const uint8_t *)(s), .n = sizeof(s) - 1u

struct dcase {
	const char *what;
	enum hv_x86_mode mode;
	const uint8_t *bytes;
	size_t n; /* the instruction's length */
	enum hv_x86_insn_op op;
	hv_access_t dir;
	uint8_t size;
	uint8_t dst_size;
	enum hv_x86_ext ext;
	int reg; /* -1: none */
	bool high8;
	bool has_imm;
	uint64_t imm;
	uint8_t base;
	uint8_t index;
	uint8_t scale;
	uint64_t disp;
	uint8_t asz;
	bool rip;
	enum hv_x86_seg seg;
};

#define MOV    HV_X86_OP_MOV
#define MOVZX  HV_X86_OP_MOVZX
#define MOVSX  HV_X86_OP_MOVSX
#define MOVSXD HV_X86_OP_MOVSXD
#define XN     HV_X86_EXT_NONE
#define XZ     HV_X86_EXT_ZERO
#define XS     HV_X86_EXT_SIGN

/* clang-format off */
static const struct dcase cases[] = {
	/* ---- 8B / 89 / 8A / 88 in every width ---- */
	{"gcc/clang: mov eax,[rdi]", M64, BYTES("\x8b\x07"), MOV, RD, 4, 4, XN, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"gcc/clang: mov rax,[rdi]", M64, BYTES("\x48\x8b\x07"), MOV, RD, 8, 8, XN, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov ax,[rdi]", M64, BYTES("\x66\x8b\x07"), MOV, RD, 2, 2, XN, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"clang: mov al,[rdi]", M64, BYTES("\x8a\x07"), MOV, RD, 1, 1, XN, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov ah,[rdi]: high byte without REX", M64, BYTES("\x8a\x27"), MOV, RD, 1, 1, XN, 0, true, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov bh,[rsi]", M64, BYTES("\x8a\x3e"), MOV, RD, 1, 1, XN, 3, true, false, 0, 6, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov spl,[rdi]: REX 40 turns AH into SPL", M64, BYTES("\x40\x8a\x27"), MOV, RD, 1, 1, XN, 4, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov r12b,[rdi]: REX.R", M64, BYTES("\x44\x8a\x27"), MOV, RD, 1, 1, XN, 12, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"clang: mov [rdi],ah", M64, BYTES("\x88\x27"), MOV, WR, 1, 1, XN, 0, true, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov [rbx],ch", M64, BYTES("\x88\x2b"), MOV, WR, 1, 1, XN, 1, true, false, 0, 3, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"gcc/clang: mov [rdi],sil", M64, BYTES("\x40\x88\x37"), MOV, WR, 1, 1, XN, 6, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov [rdi],r8b", M64, BYTES("\x44\x88\x07"), MOV, WR, 1, 1, XN, 8, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov [r12],dil: REX.B base, SIB needed", M64, BYTES("\x41\x88\x3c\x24"), MOV, WR, 1, 1, XN, 7, false, false, 0, 12, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"gcc/clang: mov [rdi],esi", M64, BYTES("\x89\x37"), MOV, WR, 4, 4, XN, 6, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"gcc/clang: mov [rdi],rsi", M64, BYTES("\x48\x89\x37"), MOV, WR, 8, 8, XN, 6, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"gcc/clang: mov [rdi],si", M64, BYTES("\x66\x89\x37"), MOV, WR, 2, 2, XN, 6, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov [rsp],r15: REX.W+R, SIB base rsp", M64, BYTES("\x4c\x89\x3c\x24"), MOV, WR, 8, 8, XN, 15, false, false, 0, 4, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov [r9],r10w: 66 then REX", M64, BYTES("\x66\x45\x89\x11"), MOV, WR, 2, 2, XN, 10, false, false, 0, 9, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},

	/* ---- ModRM / SIB / displacement ---- */
	{"clang: mov [rdi+rsi*8],rdx", M64, BYTES("\x48\x89\x14\xf7"), MOV, WR, 8, 8, XN, 2, false, false, 0, 7, 6, 8, 0, 8, false, HV_X86_SEG_NONE},
	{"clang: mov [rdi+rsi*1],dl", M64, BYTES("\x88\x14\x37"), MOV, WR, 1, 1, XN, 2, false, false, 0, 7, 6, 1, 0, 8, false, HV_X86_SEG_NONE},
	{"clang: movzx eax,word [rdi+rsi*2]", M64, BYTES("\x0f\xb7\x04\x77"), MOVZX, RD, 2, 4, XZ, 0, false, false, 0, 7, 6, 2, 0, 8, false, HV_X86_SEG_NONE},
	{"mov rax,[rax+r12*8]: REX.X", M64, BYTES("\x4a\x8b\x04\xe0"), MOV, RD, 8, 8, XN, 0, false, false, 0, 0, 12, 8, 0, 8, false, HV_X86_SEG_NONE},
	{"mov eax,[r12*1+0x12345678]: index 100b is r12 with REX.X", M64, BYTES("\x42\x8b\x04\x25\x78\x56\x34\x12"), MOV, RD, 4, 4, XN, 0, false, false, 0, NONE, 12, 1, 0x12345678, 8, false, HV_X86_SEG_NONE},
	{"mov eax,[0xfee000f0]: SIB, no base, no index, disp32 only", M64, BYTES("\x8b\x04\x25\xf0\x00\xe0\xfe"), MOV, RD, 4, 4, XN, 0, false, false, 0, NONE, NONE, 0, 0xfffffffffee000f0u, 8, false, HV_X86_SEG_NONE},
	{"mov rax,[0x50000]: SIB base 101b + mod 00 ignores REX.B", M64, BYTES("\x49\x8b\x04\x25\x00\x00\x05\x00"), MOV, RD, 8, 8, XN, 0, false, false, 0, NONE, NONE, 0, 0x50000, 8, false, HV_X86_SEG_NONE},
	{"mov eax,[rsp+rbp*4]: SIB base rsp, index rbp", M64, BYTES("\x8b\x04\xac"), MOV, RD, 4, 4, XN, 0, false, false, 0, 4, 5, 4, 0, 8, false, HV_X86_SEG_NONE},
	{"mov eax,[rbp+rcx*2+0]: SIB base rbp needs mod 01", M64, BYTES("\x8b\x44\x4d\x00"), MOV, RD, 4, 4, XN, 0, false, false, 0, 5, 1, 2, 0, 8, false, HV_X86_SEG_NONE},
	{"gcc: mov eax,[rip+0x10]", M64, BYTES("\x8b\x05\x10\x00\x00\x00"), MOV, RD, 4, 4, XN, 0, false, false, 0, NONE, NONE, 0, 0x10, 8, true, HV_X86_SEG_NONE},
	{"gcc: mov [rip+0],edi", M64, BYTES("\x89\x3d\x00\x00\x00\x00"), MOV, WR, 4, 4, XN, 7, false, false, 0, NONE, NONE, 0, 0, 8, true, HV_X86_SEG_NONE},
	{"gcc: mov [rip-8],ax", M64, BYTES("\x66\x89\x05\xf8\xff\xff\xff"), MOV, WR, 2, 2, XN, 0, false, false, 0, NONE, NONE, 0, 0xfffffffffffffff8u, 8, true, HV_X86_SEG_NONE},
	{"mov r9,[rip+4]: REX.B does not touch RIP-relative", M64, BYTES("\x4d\x8b\x0d\x04\x00\x00\x00"), MOV, RD, 8, 8, XN, 9, false, false, 0, NONE, NONE, 0, 4, 8, true, HV_X86_SEG_NONE},
	{"gcc/clang: mov eax,[rdi+0x10]: disp8", M64, BYTES("\x8b\x47\x10"), MOV, RD, 4, 4, XN, 0, false, false, 0, 7, NONE, 0, 0x10, 8, false, HV_X86_SEG_NONE},
	{"mov eax,[rdi-0x10]: negative disp8", M64, BYTES("\x8b\x47\xf0"), MOV, RD, 4, 4, XN, 0, false, false, 0, 7, NONE, 0, 0xfffffffffffffff0u, 8, false, HV_X86_SEG_NONE},
	{"mov eax,[rdi+0x100]: disp32", M64, BYTES("\x8b\x87\x00\x01\x00\x00"), MOV, RD, 4, 4, XN, 0, false, false, 0, 7, NONE, 0, 0x100, 8, false, HV_X86_SEG_NONE},
	{"mov eax,[r13+0]", M64, BYTES("\x41\x8b\x45\x00"), MOV, RD, 4, 4, XN, 0, false, false, 0, 13, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov eax,[r12]", M64, BYTES("\x41\x8b\x04\x24"), MOV, RD, 4, 4, XN, 0, false, false, 0, 12, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov eax,[edi]: 67", M64, BYTES("\x67\x8b\x07"), MOV, RD, 4, 4, XN, 0, false, false, 0, 7, NONE, 0, 0, 4, false, HV_X86_SEG_NONE},
	{"mov eax,[eip+0x20]: 67 + RIP-relative", M64, BYTES("\x67\x8b\x05\x20\x00\x00\x00"), MOV, RD, 4, 4, XN, 0, false, false, 0, NONE, NONE, 0, 0x20, 4, true, HV_X86_SEG_NONE},
	{"mov cl,[0x88e9d8]: 67 + REX.B + SIB no base (Zydis 4.0.0 bug #592)", M64, BYTES("\x67\x41\x8a\x0c\x25\xd8\xe9\x88\x00"), MOV, RD, 1, 1, XN, 1, false, false, 0, NONE, NONE, 0, 0x88e9d8, 4, false, HV_X86_SEG_NONE},

	/* ---- C6 / C7 immediates ---- */
	{"gcc/clang: mov byte [rdi],0x5a", M64, BYTES("\xc6\x07\x5a"), MOV, WR, 1, 1, XN, -1, false, true, 0x5a, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"clang: mov word [rdi],0x5678", M64, BYTES("\x66\xc7\x07\x78\x56"), MOV, WR, 2, 2, XN, -1, false, true, 0x5678, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"gcc/clang: mov dword [rdi],0x12345678", M64, BYTES("\xc7\x07\x78\x56\x34\x12"), MOV, WR, 4, 4, XN, -1, false, true, 0x12345678, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov dword [rdi],0xfffffff0: no sign extension at 32 bits", M64, BYTES("\xc7\x07\xf0\xff\xff\xff"), MOV, WR, 4, 4, XN, -1, false, true, 0xfffffff0u, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"gcc/clang: mov qword [rdi],-16: imm32 sign-extended", M64, BYTES("\x48\xc7\x07\xf0\xff\xff\xff"), MOV, WR, 8, 8, XN, -1, false, true, 0xfffffffffffffff0u, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov qword [rdi],0x12345678: 66 + REX.W, REX.W wins", M64, BYTES("\x66\x48\xc7\x07\x78\x56\x34\x12"), MOV, WR, 8, 8, XN, -1, false, true, 0x12345678, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"mov dword [rip+0x100],1: RIP-relative then imm", M64, BYTES("\xc7\x05\x00\x01\x00\x00\x01\x00\x00\x00"), MOV, WR, 4, 4, XN, -1, false, true, 1, NONE, NONE, 0, 0x100, 8, true, HV_X86_SEG_NONE},
	{"15 bytes: 2e x3, REX.W C7 [rsp+disp32], imm32", M64, BYTES("\x2e\x2e\x2e\x48\xc7\x84\x24\x11\x22\x33\x44\x55\x66\x77\x88"), MOV, WR, 8, 8, XN, -1, false, true, 0xffffffff88776655u, 4, NONE, 0, 0x44332211, 8, false, HV_X86_SEG_CS},

	/* ---- movzx / movsx / movsxd ---- */
	{"gcc: movzx eax,byte [rdi]", M64, BYTES("\x0f\xb6\x07"), MOVZX, RD, 1, 4, XZ, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"gcc: movzx eax,word [rdi+0x10]", M64, BYTES("\x0f\xb7\x47\x10"), MOVZX, RD, 2, 4, XZ, 0, false, false, 0, 7, NONE, 0, 0x10, 8, false, HV_X86_SEG_NONE},
	{"movzx rax,byte [rdi]", M64, BYTES("\x48\x0f\xb6\x07"), MOVZX, RD, 1, 8, XZ, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"movzx ax,byte [rdi]", M64, BYTES("\x66\x0f\xb6\x07"), MOVZX, RD, 1, 2, XZ, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"movzx ax,word [rdi]", M64, BYTES("\x66\x0f\xb7\x07"), MOVZX, RD, 2, 2, XZ, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"movzx r8d,byte [rdi]: REX.R, no high byte for movzx", M64, BYTES("\x44\x0f\xb6\x07"), MOVZX, RD, 1, 4, XZ, 8, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"movzx esp,byte [rdi]: reg 4 is ESP, not AH", M64, BYTES("\x0f\xb6\x27"), MOVZX, RD, 1, 4, XZ, 4, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"gcc/clang: movsx eax,byte [rdi]", M64, BYTES("\x0f\xbe\x07"), MOVSX, RD, 1, 4, XS, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"gcc/clang: movsx rax,word [rdi]", M64, BYTES("\x48\x0f\xbf\x07"), MOVSX, RD, 2, 8, XS, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"movsx ax,byte [rdi]", M64, BYTES("\x66\x0f\xbe\x07"), MOVSX, RD, 1, 2, XS, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"gcc/clang: movsxd rax,dword [rdi]", M64, BYTES("\x48\x63\x07"), MOVSXD, RD, 4, 8, XS, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"movsxd r15,dword [r14+r13*4+8]", M64, BYTES("\x4f\x63\x7c\xae\x08"), MOVSXD, RD, 4, 8, XS, 15, false, false, 0, 14, 13, 4, 8, 8, false, HV_X86_SEG_NONE},

	/* ---- A0-A3 moffs ---- */
	{"mov al,[moffs64]", M64, BYTES("\xa0\x00\x10\xe0\xfe\x00\x00\x00\x00"), MOV, RD, 1, 1, XN, 0, false, false, 0, NONE, NONE, 0, 0xfee01000u, 8, false, HV_X86_SEG_NONE},
	{"mov eax,[moffs64]", M64, BYTES("\xa1\x88\x77\x66\x55\x44\x33\x22\x11"), MOV, RD, 4, 4, XN, 0, false, false, 0, NONE, NONE, 0, 0x1122334455667788u, 8, false, HV_X86_SEG_NONE},
	{"mov rax,[moffs64]: REX.W", M64, BYTES("\x48\xa1\x00\x00\x00\x00\x00\x00\x00\x80"), MOV, RD, 8, 8, XN, 0, false, false, 0, NONE, NONE, 0, 0x8000000000000000u, 8, false, HV_X86_SEG_NONE},
	{"mov [moffs64],al", M64, BYTES("\xa2\x01\x00\x00\x00\x00\x00\x00\x00"), MOV, WR, 1, 1, XN, 0, false, false, 0, NONE, NONE, 0, 1, 8, false, HV_X86_SEG_NONE},
	{"mov [moffs64],ax", M64, BYTES("\x66\xa3\x02\x00\x00\x00\x00\x00\x00\x00"), MOV, WR, 2, 2, XN, 0, false, false, 0, NONE, NONE, 0, 2, 8, false, HV_X86_SEG_NONE},
	{"mov eax,[moffs32]: 67", M64, BYTES("\x67\xa1\xf0\x00\xe0\xfe"), MOV, RD, 4, 4, XN, 0, false, false, 0, NONE, NONE, 0, 0xfee000f0u, 4, false, HV_X86_SEG_NONE},
	{"mov [moffs64],eax: REX.B does not pick r8", M64, BYTES("\x41\xa3\x10\x00\x00\x00\x00\x00\x00\x00"), MOV, WR, 4, 4, XN, 0, false, false, 0, NONE, NONE, 0, 0x10, 8, false, HV_X86_SEG_NONE},

	/* ---- prefixes: segments, REX position ---- */
	{"mov eax,fs:[0]", M64, BYTES("\x64\x8b\x04\x25\x00\x00\x00\x00"), MOV, RD, 4, 4, XN, 0, false, false, 0, NONE, NONE, 0, 0, 8, false, HV_X86_SEG_FS},
	{"mov rax,gs:[0x28]", M64, BYTES("\x65\x48\x8b\x04\x25\x28\x00\x00\x00"), MOV, RD, 8, 8, XN, 0, false, false, 0, NONE, NONE, 0, 0x28, 8, false, HV_X86_SEG_GS},
	{"mov eax,cs:[rdi]: recorded though 64-bit mode ignores it", M64, BYTES("\x2e\x8b\x07"), MOV, RD, 4, 4, XN, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_CS},
	{"65 3e: DS after GS does not undo GS in 64-bit mode", M64, BYTES("\x65\x3e\x8b\x07"), MOV, RD, 4, 4, XN, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_GS},
	{"64 65: the last of FS/GS wins", M64, BYTES("\x64\x65\x8b\x07"), MOV, RD, 4, 4, XN, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_GS},
	{"48 66 8b: a REX before a legacy prefix is ignored", M64, BYTES("\x48\x66\x8b\x07"), MOV, RD, 2, 2, XN, 0, false, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"44 2e 8a 27: ignored REX, so AH again", M64, BYTES("\x44\x2e\x8a\x27"), MOV, RD, 1, 1, XN, 0, true, false, 0, 7, NONE, 0, 0, 8, false, HV_X86_SEG_CS},
	{"48 41 8b: only the last REX counts (B, not W)", M64, BYTES("\x48\x41\x8b\x07"), MOV, RD, 4, 4, XN, 0, false, false, 0, 15, NONE, 0, 0, 8, false, HV_X86_SEG_NONE},
	{"66 67 65 REX.W: every prefix at once", M64, BYTES("\x66\x67\x65\x4b\x89\x44\x8d\x7f"), MOV, WR, 8, 8, XN, 0, false, false, 0, 13, 9, 4, 0x7f, 4, false, HV_X86_SEG_GS},

	/* ---- 32-bit protected mode ---- */
	{"32: mov eax,[edi]", M32, BYTES("\x8b\x07"), MOV, RD, 4, 4, XN, 0, false, false, 0, 7, NONE, 0, 0, 4, false, HV_X86_SEG_NONE},
	{"32: mov eax,[0xfee000f0]: mod 00 rm 101 is absolute", M32, BYTES("\x8b\x05\xf0\x00\xe0\xfe"), MOV, RD, 4, 4, XN, 0, false, false, 0, NONE, NONE, 0, 0xfffffffffee000f0u, 4, false, HV_X86_SEG_NONE},
	{"32: mov [edi],si", M32, BYTES("\x66\x89\x37"), MOV, WR, 2, 2, XN, 6, false, false, 0, 7, NONE, 0, 0, 4, false, HV_X86_SEG_NONE},
	{"32: mov [ebx],dh", M32, BYTES("\x88\x33"), MOV, WR, 1, 1, XN, 2, true, false, 0, 3, NONE, 0, 0, 4, false, HV_X86_SEG_NONE},
	{"32: mov eax,[moffs32]", M32, BYTES("\xa1\x00\x00\xc0\xfe"), MOV, RD, 4, 4, XN, 0, false, false, 0, NONE, NONE, 0, 0xfec00000u, 4, false, HV_X86_SEG_NONE},
	{"32: movzx eax,word es:[esi+ecx*2]", M32, BYTES("\x26\x0f\xb7\x04\x4e"), MOVZX, RD, 2, 4, XZ, 0, false, false, 0, 6, 1, 2, 0, 4, false, HV_X86_SEG_ES},
	{"32: mov eax,ss:[edi]: 32-bit mode keeps every override", M32, BYTES("\x36\x8b\x07"), MOV, RD, 4, 4, XN, 0, false, false, 0, 7, NONE, 0, 0, 4, false, HV_X86_SEG_SS},
	{"32: mov ecx,ds:[eax] after fs: the last override wins", M32, BYTES("\x64\x3e\x8b\x08"), MOV, RD, 4, 4, XN, 1, false, false, 0, 0, NONE, 0, 0, 4, false, HV_X86_SEG_DS},
	{"32: mov dword [ebp-4],7", M32, BYTES("\xc7\x45\xfc\x07\x00\x00\x00"), MOV, WR, 4, 4, XN, -1, false, true, 7, 5, NONE, 0, 0xfffffffffffffffcu, 4, false, HV_X86_SEG_NONE},
};

struct rcase {
	const char *what;
	enum hv_x86_mode mode;
	const uint8_t *bytes;
	size_t n;
	hv_status_t st;
};

#define NS HV_ERR_NOT_SUPPORTED
#define BF HV_ERR_BAD_FORMAT

static const struct rcase refusals[] = {
	{"lock mov [rdi],eax", M64, BYTES("\xf0\x89\x07"), NS},
	{"rep mov (F3, XRELEASE)", M64, BYTES("\xf3\x89\x07"), NS},
	{"repne mov (F2)", M64, BYTES("\xf2\x8b\x07"), NS},
	{"lock after other prefixes", M64, BYTES("\x66\x2e\xf0\x89\x07"), NS},
	{"rep movsd", M64, BYTES("\xf3\xa5"), NS},
	{"movsd", M64, BYTES("\xa5"), NS},
	{"stosb", M64, BYTES("\xaa"), NS},
	{"clang: or dword [rdi],1", M64, BYTES("\x83\x0f\x01"), NS},
	{"clang: and dword [rdi],~8", M64, BYTES("\x83\x27\xf7"), NS},
	{"clang: add dword [rdi],1", M64, BYTES("\x83\x07\x01"), NS},
	{"clang -Os: inc dword [rdi]", M64, BYTES("\xff\x07"), NS},
	{"clang: add eax,[rdi]", M64, BYTES("\x03\x07"), NS},
	{"clang: test dword [rdi],1", M64, BYTES("\xf7\x07\x01\x00\x00\x00"), NS},
	{"mov eax,edi: mod 3", M64, BYTES("\x8b\xc7"), NS},
	{"mov edi,eax (89): mod 3", M64, BYTES("\x89\xc7"), NS},
	{"mov al,ah (8a): mod 3", M64, BYTES("\x8a\xc4"), NS},
	{"movzx eax,al: mod 3", M64, BYTES("\x0f\xb6\xc0"), NS},
	{"mov eax,imm32 (C7 /0 mod 3)", M64, BYTES("\xc7\xc0\x01\x00\x00\x00"), NS},
	{"movsxd without REX.W", M64, BYTES("\x63\x07"), NS},
	{"movsxd 16-bit", M64, BYTES("\x66\x63\x07"), NS},
	{"mov from sreg (8C)", M64, BYTES("\x8c\x1f"), NS},
	{"mov to sreg (8E)", M64, BYTES("\x8e\x1f"), NS},
	{"ud2", M64, BYTES("\x0f\x0b"), NS},
	{"bsf (0F BC)", M64, BYTES("\x0f\xbc\x07"), NS},
	{"nop", M64, BYTES("\x90"), NS},
	{"lea (no memory access)", M64, BYTES("\x48\x8d\x07"), NS},
	{"VEX vmovdqu", M64, BYTES("\xc5\xfe\x6f\x07"), NS},
	{"C6 /1 with memory is undefined", M64, BYTES("\xc6\x4f\x10\x00"), BF},
	{"C7 /7 with memory is undefined", M64, BYTES("\xc7\x3f\x00\x00\x00\x00"), BF},
	{"16 bytes: 4 prefixes + 12", M64, BYTES("\x2e\x2e\x2e\x2e\x48\xc7\x84\x24\x11\x22\x33\x44\x55\x66\x77\x88"), BF},
	{"15 prefixes", M64, BYTES("\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x8b\x07"), BF},
	{"14 prefixes + opcode + ModRM", M64, BYTES("\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x8b\x07"), BF},
	{"32: ARPL (63)", M32, BYTES("\x63\x07"), NS},
	{"32: 48 is dec eax, not REX", M32, BYTES("\x48\x8b\x07"), NS},
	{"32: 67 is 16-bit addressing", M32, BYTES("\x67\x8b\x07"), NS},
	{"32: lock", M32, BYTES("\xf0\x89\x07"), NS},
};
/* clang-format on */

static void check_case(const struct dcase *c, const struct hv_x86_insn *in)
{
	assert_int_equal(in->mode, c->mode);
	assert_int_equal(in->op, c->op);
	assert_int_equal(in->dir, c->dir);
	assert_int_equal(in->len, c->n);
	assert_int_equal(in->size, c->size);
	assert_int_equal(in->dst_size, c->dst_size);
	assert_int_equal(in->ext, c->ext);
	assert_int_equal(in->has_reg, c->reg >= 0);
	if (c->reg >= 0) {
		assert_int_equal(in->reg, c->reg);
		assert_int_equal(in->reg_high8, c->high8);
	}
	assert_int_equal(in->has_imm, c->has_imm);
	if (c->has_imm) {
		assert_int_equal(in->imm, c->imm);
	}
	assert_int_equal(in->mem.base, c->base);
	assert_int_equal(in->mem.index, c->index);
	assert_int_equal(in->mem.scale, c->scale);
	assert_int_equal(in->mem.disp, c->disp);
	assert_int_equal(in->mem.addr_size, c->asz);
	assert_int_equal(in->mem.rip_relative, c->rip);
	assert_int_equal(in->mem.seg, c->seg);
}

static void every_table_sequence_decodes_as_expected(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];
		struct hv_x86_insn in;

		print_message("%s\n", c->what);
		assert_int_equal(hv_x86_insn_decode(c->bytes, c->n, c->mode, &in), HV_OK);
		check_case(c, &in);
	}
}

static void trailing_bytes_do_not_change_the_decode(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];
		uint8_t buf[32];
		struct hv_x86_insn in;

		memset(buf, 0xcc, sizeof(buf));
		memcpy(buf, c->bytes, c->n);
		assert_int_equal(hv_x86_insn_decode(buf, sizeof(buf), c->mode, &in), HV_OK);
		check_case(c, &in);
	}
}

static void truncation_at_every_byte_is_no_space(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];

		for (size_t k = 0; k < c->n; k++) {
			struct hv_x86_insn in;

			/* A copy of exactly k bytes: a read past it would
			 * show under the sanitizer builds. */
			uint8_t buf[HV_X86_INSN_MAX_LEN];

			memcpy(buf, c->bytes, k);
			assert_int_equal(hv_x86_insn_decode(buf, k, c->mode, &in), HV_ERR_NO_SPACE);
		}
	}
}

static void refusals_give_their_status(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct rcase *r = &refusals[i];
		struct hv_x86_insn in;

		print_message("%s\n", r->what);
		assert_int_equal(hv_x86_insn_decode(r->bytes, r->n, r->mode, &in), r->st);
	}
}

static void refusal_is_decided_before_the_buffer_ends(void **state)
{
	(void)state;
	/* LOCK is refused on its own byte; mod 3 on the ModRM byte: no
	 * need for more bytes to know. */
	struct hv_x86_insn in;

	assert_int_equal(hv_x86_insn_decode((const uint8_t *)"\xf0", 1, M64, &in), NS);
	assert_int_equal(hv_x86_insn_decode((const uint8_t *)"\x8b\xc7", 2, M64, &in), NS);
	assert_int_equal(hv_x86_insn_decode((const uint8_t *)"\x0f\x0b", 2, M64, &in), NS);
	/* The C6 /1 ModRM decides it before its disp8 and imm8. */
	assert_int_equal(hv_x86_insn_decode((const uint8_t *)"\xc6\x4f", 2, M64, &in), BF);
	/* An over-long instruction is refused wherever the buffer ends. */
	assert_int_equal(hv_x86_insn_decode((const uint8_t *)"\x66\x66\x66\x66\x66\x66\x66\x66"
							    "\x66\x66\x66\x66\x66\x66\x66",
					    15, M64, &in),
			 BF);
}

static void bad_arguments_are_invalid_arg(void **state)
{
	(void)state;
	struct hv_x86_insn in;
	const uint8_t b[] = {0x8b, 0x07};

	assert_int_equal(hv_x86_insn_decode(NULL, 2, M64, &in), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_insn_decode(b, 2, M64, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_insn_decode(b, 2, (enum hv_x86_mode)0, &in), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_insn_decode(b, 2, (enum hv_x86_mode)3, &in), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_insn_decode(b, 0, M64, &in), HV_ERR_NO_SPACE);
}

/* Decodes hex bytes known to be good. */
static struct hv_x86_insn dec(const char *bytes, size_t n, enum hv_x86_mode mode)
{
	struct hv_x86_insn in;

	assert_int_equal(hv_x86_insn_decode((const uint8_t *)bytes, n, mode, &in), HV_OK);
	return in;
}
#define DEC(s, m) dec((s), sizeof(s) - 1u, (m))

static uint64_t load(const struct hv_x86_insn *in, unsigned reg, uint64_t old, uint64_t data)
{
	uint64_t gprs[HV_X86_GPR_COUNT];

	for (unsigned i = 0; i < HV_X86_GPR_COUNT; i++) {
		gprs[i] = 0x5555555555555555u + i;
	}
	gprs[reg] = old;
	assert_int_equal(hv_x86_insn_apply_load(in, gprs, data), HV_OK);
	for (unsigned i = 0; i < HV_X86_GPR_COUNT; i++) {
		if (i != reg) {
			assert_int_equal(gprs[i], 0x5555555555555555u + i);
		}
	}
	return gprs[reg];
}

static void load_write_back_follows_the_cpu(void **state)
{
	(void)state;
	const uint64_t old = 0x1111111111111111u;
	struct hv_x86_insn in;

	/* 32-bit destination: zero-extended into the 64-bit register. */
	in = DEC("\x8b\x07", M64);
	assert_int_equal(load(&in, 0, old, 0xaabbccdd12345678u), 0x12345678u);
	/* 64-bit: replaces. */
	in = DEC("\x48\x8b\x07", M64);
	assert_int_equal(load(&in, 0, old, 0xaabbccdd12345678u), 0xaabbccdd12345678u);
	/* 16-bit: merges into bits 0..15. */
	in = DEC("\x66\x8b\x07", M64);
	assert_int_equal(load(&in, 0, old, 0xffffabcd), 0x111111111111abcdu);
	/* 8-bit: merges into bits 0..7; only the access size of data counts. */
	in = DEC("\x8a\x07", M64);
	assert_int_equal(load(&in, 0, old, 0x1ff), 0x11111111111111ffu);
	/* AH: bits 8..15 of RAX. */
	in = DEC("\x8a\x27", M64);
	assert_int_equal(load(&in, 0, old, 0xab), 0x111111111111ab11u);
	/* BH: bits 8..15 of RBX. */
	in = DEC("\x8a\x3e", M64);
	assert_int_equal(load(&in, 3, old, 0x1ab), 0x111111111111ab11u);
	/* SPL with REX: the low byte of RSP. */
	in = DEC("\x40\x8a\x27", M64);
	assert_int_equal(load(&in, 4, old, 0xab), 0x11111111111111abu);
	/* R12B. */
	in = DEC("\x44\x8a\x27", M64);
	assert_int_equal(load(&in, 12, old, 0xab), 0x11111111111111abu);
	/* movzx into 32 bits: zero-extends, upper half zeroed. */
	in = DEC("\x0f\xb6\x07", M64);
	assert_int_equal(load(&in, 0, old, 0xff80), 0x80u);
	/* movzx into 16 bits: the rest of the register stays. */
	in = DEC("\x66\x0f\xb6\x07", M64);
	assert_int_equal(load(&in, 0, old, 0x80), 0x1111111111110080u);
	/* movzx rax, word. */
	in = DEC("\x48\x0f\xb7\x07", M64);
	assert_int_equal(load(&in, 0, old, 0xffff8000u), 0x8000u);
	/* movsx into 32 bits: sign-extends to 32, zero above. */
	in = DEC("\x0f\xbe\x07", M64);
	assert_int_equal(load(&in, 0, old, 0x80), 0xffffff80u);
	assert_int_equal(load(&in, 0, old, 0x7f), 0x7fu);
	/* movsx into 16 bits: merges the sign-extended word. */
	in = DEC("\x66\x0f\xbe\x07", M64);
	assert_int_equal(load(&in, 0, old, 0x80), 0x111111111111ff80u);
	/* movsx rax, word. */
	in = DEC("\x48\x0f\xbf\x07", M64);
	assert_int_equal(load(&in, 0, old, 0x8000), 0xffffffffffff8000u);
	/* movsxd rax, dword. */
	in = DEC("\x48\x63\x07", M64);
	assert_int_equal(load(&in, 0, old, 0x80000000u), 0xffffffff80000000u);
	assert_int_equal(load(&in, 0, old, 0x7fffffffu), 0x7fffffffu);
	/* movsxd r15. */
	in = DEC("\x4f\x63\x7c\xae\x08", M64);
	assert_int_equal(load(&in, 15, old, 0xfffffffeu), 0xfffffffffffffffeu);
	/* mov rax, moffs. */
	in = DEC("\x48\xa1\x00\x00\x00\x00\x00\x00\x00\x80", M64);
	assert_int_equal(load(&in, 0, old, 0x0123456789abcdefu), 0x0123456789abcdefu);
	/* 32-bit mode: a 32-bit load leaves nothing above bit 31. */
	in = DEC("\x8b\x07", M32);
	assert_int_equal(load(&in, 0, old, 0xaabbccdd12345678u), 0x12345678u);
}

static uint64_t store(const struct hv_x86_insn *in, unsigned reg, uint64_t val)
{
	uint64_t gprs[HV_X86_GPR_COUNT] = {0};
	uint64_t data = 0xdeadbeef;

	gprs[reg] = val;
	assert_int_equal(hv_x86_insn_store_value(in, gprs, &data), HV_OK);
	return data;
}

static void store_data_comes_from_the_register_or_immediate(void **state)
{
	(void)state;
	struct hv_x86_insn in;

	in = DEC("\x89\x37", M64); /* esi */
	assert_int_equal(store(&in, 6, 0xffffffff12345678u), 0x12345678u);
	in = DEC("\x48\x89\x37", M64); /* rsi */
	assert_int_equal(store(&in, 6, 0xffffffff12345678u), 0xffffffff12345678u);
	in = DEC("\x66\x89\x37", M64); /* si */
	assert_int_equal(store(&in, 6, 0xffffffff12345678u), 0x5678u);
	in = DEC("\x40\x88\x37", M64); /* sil */
	assert_int_equal(store(&in, 6, 0x1234), 0x34u);
	in = DEC("\x88\x27", M64); /* ah */
	assert_int_equal(store(&in, 0, 0xffffabcd), 0xabu);
	in = DEC("\x88\x2b", M64); /* ch */
	assert_int_equal(store(&in, 1, 0x1200), 0x12u);
	in = DEC("\x44\x88\x07", M64); /* r8b */
	assert_int_equal(store(&in, 8, 0x1ff), 0xffu);
	in = DEC("\x41\xa3\x10\x00\x00\x00\x00\x00\x00\x00", M64); /* eax, not r8d */
	assert_int_equal(store(&in, 0, 0x100000002u), 2u);
	in = DEC("\xc6\x07\x5a", M64);
	assert_int_equal(store(&in, 0, 0xffff), 0x5au);
	in = DEC("\x66\xc7\x07\x78\x56", M64);
	assert_int_equal(store(&in, 0, 0xffff), 0x5678u);
	in = DEC("\xc7\x07\xf0\xff\xff\xff", M64);
	assert_int_equal(store(&in, 0, 0), 0xfffffff0u);
	in = DEC("\x48\xc7\x07\xf0\xff\xff\xff", M64);
	assert_int_equal(store(&in, 0, 0), 0xfffffffffffffff0u);
}

static void helpers_refuse_the_wrong_direction_and_forged_insns(void **state)
{
	(void)state;
	uint64_t gprs[HV_X86_GPR_COUNT] = {0};
	uint64_t v;
	struct hv_x86_insn ld = DEC("\x8b\x07", M64);
	struct hv_x86_insn st = DEC("\x89\x07", M64);
	struct hv_x86_insn bad;

	assert_int_equal(hv_x86_insn_apply_load(&st, gprs, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_insn_store_value(&ld, gprs, &v), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_insn_apply_load(NULL, gprs, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_insn_apply_load(&ld, NULL, 1), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_insn_store_value(&st, gprs, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_insn_store_value(&st, NULL, &v), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_insn_effective_addr(&ld, gprs, 0, NULL), HV_ERR_INVALID_ARG);
	assert_int_equal(hv_x86_insn_effective_addr(NULL, gprs, 0, &v), HV_ERR_INVALID_ARG);

	bad = ld;
	bad.reg = 16; /* beyond the register file */
	assert_int_equal(hv_x86_insn_apply_load(&bad, gprs, 1), HV_ERR_INVALID_ARG);
	bad = ld;
	bad.reg = 4;
	bad.reg_high8 = true; /* there is no "high byte of RSP" */
	assert_int_equal(hv_x86_insn_apply_load(&bad, gprs, 1), HV_ERR_INVALID_ARG);
	bad = ld;
	bad.size = 3;
	assert_int_equal(hv_x86_insn_apply_load(&bad, gprs, 1), HV_ERR_INVALID_ARG);
	bad = ld;
	bad.dst_size = 16;
	assert_int_equal(hv_x86_insn_apply_load(&bad, gprs, 1), HV_ERR_INVALID_ARG);
	bad = ld;
	bad.ext = (enum hv_x86_ext)7;
	assert_int_equal(hv_x86_insn_apply_load(&bad, gprs, 1), HV_ERR_INVALID_ARG);
	bad = ld;
	bad.mem.base = 20;
	assert_int_equal(hv_x86_insn_effective_addr(&bad, gprs, 0, &v), HV_ERR_INVALID_ARG);
	bad = ld;
	bad.mem.index = 16;
	assert_int_equal(hv_x86_insn_effective_addr(&bad, gprs, 0, &v), HV_ERR_INVALID_ARG);
	bad = ld;
	bad.mem.addr_size = 2;
	assert_int_equal(hv_x86_insn_effective_addr(&bad, gprs, 0, &v), HV_ERR_INVALID_ARG);
	bad = ld;
	bad.mode = (enum hv_x86_mode)0;
	assert_int_equal(hv_x86_insn_apply_load(&bad, gprs, 1), HV_ERR_INVALID_ARG);
	bad = st;
	bad.has_imm = true; /* both a register and an immediate */
	assert_int_equal(hv_x86_insn_store_value(&bad, gprs, &v), HV_ERR_INVALID_ARG);
}

static uint64_t ea(const struct hv_x86_insn *in, const uint64_t *gprs, uint64_t rip)
{
	uint64_t a = 0;

	assert_int_equal(hv_x86_insn_effective_addr(in, gprs, rip, &a), HV_OK);
	return a;
}

static void effective_address_recomputes_the_operand(void **state)
{
	(void)state;
	uint64_t g[HV_X86_GPR_COUNT] = {0};
	struct hv_x86_insn in;

	g[7] = 0x1000;	      /* rdi */
	g[6] = 3;	      /* rsi */
	g[12] = 0x20;	      /* r12 */
	g[13] = 0xfee00000u; /* r13 */
	in = DEC("\x48\x89\x14\xf7", M64); /* [rdi+rsi*8] */
	assert_int_equal(ea(&in, g, 0), 0x1018u);
	in = DEC("\x8b\x47\xf0", M64); /* [rdi-0x10] */
	assert_int_equal(ea(&in, g, 0), 0xff0u);
	g[7] = 8;
	assert_int_equal(ea(&in, g, 0), 0xfffffffffffffff8u); /* wraps modulo 2^64 */
	in = DEC("\x8b\x05\x10\x00\x00\x00", M64); /* [rip+0x10], 6 bytes */
	assert_int_equal(ea(&in, g, 0x400000), 0x400016u);
	in = DEC("\x42\x8b\x04\x25\x78\x56\x34\x12", M64); /* [r12*1+0x12345678] */
	assert_int_equal(ea(&in, g, 0), 0x12345698u);
	in = DEC("\x8b\x04\x25\xf0\x00\xe0\xfe", M64); /* [disp32], sign-extended */
	assert_int_equal(ea(&in, g, 0), 0xfffffffffee000f0u);
	in = DEC("\x41\x8b\x45\x00", M64); /* [r13+0] */
	assert_int_equal(ea(&in, g, 0), 0xfee00000u);
	in = DEC("\x48\xa1\x00\x00\x00\x00\x00\x00\x00\x80", M64); /* moffs64 */
	assert_int_equal(ea(&in, g, 0x1234), 0x8000000000000000u);
	/* 67: the address is cut to 32 bits. */
	g[7] = 0x100000010u;
	in = DEC("\x67\x8b\x07", M64);
	assert_int_equal(ea(&in, g, 0), 0x10u);
	in = DEC("\x67\x8b\x05\x20\x00\x00\x00", M64); /* [eip+0x20] */
	assert_int_equal(ea(&in, g, 0xfffffff0u), 0x17u);
	/* 32-bit mode: register values above bit 31 do not count. */
	in = DEC("\x8b\x05\xf0\x00\xe0\xfe", M32);
	assert_int_equal(ea(&in, g, 0), 0xfee000f0u);
	in = DEC("\x8b\x07", M32);
	assert_int_equal(ea(&in, g, 0), 0x10u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_table_sequence_decodes_as_expected),
		cmocka_unit_test(trailing_bytes_do_not_change_the_decode),
		cmocka_unit_test(truncation_at_every_byte_is_no_space),
		cmocka_unit_test(refusals_give_their_status),
		cmocka_unit_test(refusal_is_decided_before_the_buffer_ends),
		cmocka_unit_test(bad_arguments_are_invalid_arg),
		cmocka_unit_test(load_write_back_follows_the_cpu),
		cmocka_unit_test(store_data_comes_from_the_register_or_immediate),
		cmocka_unit_test(helpers_refuse_the_wrong_direction_and_forged_insns),
		cmocka_unit_test(effective_address_recomputes_the_operand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
