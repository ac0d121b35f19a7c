/* Hand-written upstare_meta entries, laid out exactly as meta/FORMAT.md describes, compiled
 * with plain cc -c by compiler/tests/driver.rs and dumped with upstare-cc --dump-meta. One
 * entry of each kind; the point names a local whose layout comes from sizeof/offsetof. */
#include <stddef.h>

#define META __attribute__((section("upstare_meta"), used, aligned(8)))
#define MAGIC 0x54535055u

struct pair { int a; unsigned bits : 3; char name[6]; };

#define UNIT_S "demo.c\0upstare-cc by hand"
static const struct { unsigned magic, kind, n, s; unsigned long long num[1]; char str[sizeof UNIT_S]; }
    unit META = { MAGIC, 1, 1, sizeof UNIT_S, { 1 }, UNIT_S };

#define TYPE_S "struct pair\0a\0int\0bits\0unsigned int\0name\0char [6]"
static const struct { unsigned magic, kind, n, s; unsigned long long num[3 + 3 * 3]; char str[sizeof TYPE_S]; }
    type META = { MAGIC, 2, 12, sizeof TYPE_S,
                  { sizeof(struct pair), _Alignof(struct pair), 3,
                    offsetof(struct pair, a), sizeof(int), 0,
                    ~0ull, 0, 3,
                    offsetof(struct pair, name), 6, 0 },
                  TYPE_S };

#define GLOBAL_S "demo.c/counter\0counter\0long"
static const struct { unsigned magic, kind, n, s; unsigned long long num[3]; char str[sizeof GLOBAL_S]; }
    global META = { MAGIC, 3, 3, sizeof GLOBAL_S, { sizeof(long), _Alignof(long), 1 }, GLOBAL_S };

#define FUNC_S "demo.c\0walk"
static const struct { unsigned magic, kind, n, s; unsigned long long num[3]; char str[sizeof FUNC_S]; }
    func META = { MAGIC, 4, 3, sizeof FUNC_S, { 1, 12, 0 }, FUNC_S };

struct walk_rec { struct pair *p; int i; };
#define POINT_S "walk\0loop#1\0demo.c\0p\0struct pair *\0i\0int"
static const struct { unsigned magic, kind, n, s; unsigned long long num[5 + 2 * 3]; char str[sizeof POINT_S]; }
    point META = { MAGIC, 5, 11, sizeof POINT_S,
                   { 0, 14, sizeof(struct walk_rec), _Alignof(struct walk_rec), 2,
                     offsetof(struct walk_rec, p), sizeof(struct pair *), 4,
                     offsetof(struct walk_rec, i), sizeof(int), 1 },
                   POINT_S };
