/* Entry-point helper for this project's freeDiameter extensions.
 * Extensions are built with hidden visibility; freeDiameter 1.2.1's
 * EXTENSION_ENTRY does not mark fd_ext_init/fd_ext_depends visible, so this
 * wrapper does (1.5's macro already does, the pragma is then harmless). */
#ifndef MB2C_FDEXT_H
#define MB2C_FDEXT_H

#include <freeDiameter/extension.h>

#define MB2C_EXTENSION_ENTRY(...)                                                                  \
	_Pragma("GCC visibility push(default)") EXTENSION_ENTRY(__VA_ARGS__);                      \
	void fd_ext_fini(void);                                                                    \
	_Pragma("GCC visibility pop")

#endif
