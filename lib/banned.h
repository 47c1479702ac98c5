/*
 * banned.h - functions aurora never calls; each becomes a compile error.
 *
 * Every .c file includes it last, after the system headers, so the macros
 * cannot break their prototypes; `make lint` checks that it does.
 * Bounded or checked replacements: snprintf, aur_buf_*, strtol/strtoul.
 */
#ifndef AURORA_BANNED_H
#define AURORA_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef gets
#define gets(x) BANNED(gets)

#endif
