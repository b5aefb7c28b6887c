/*
 * Forced first (-include) into every source of a scheduler module: every
 * symbol, declared or defined, is hidden. References between the module's
 * own files then bind locally (PC-relative, no GOT lookup by name), the
 * image exports nothing, and the only dynamic relocations left are the
 * RELATIVE ones the loader accepts. The loader finds the module through
 * the ELF entry point, not a symbol.
 */
#ifndef HVCORE_SCHED_MODULE_VISIBILITY_H
#define HVCORE_SCHED_MODULE_VISIBILITY_H

#pragma GCC visibility push(hidden)

#endif /* HVCORE_SCHED_MODULE_VISIBILITY_H */
