/* lua_main.c: a minimal stand-alone Lua interpreter for upstare's end-to-end tests.
 *
 * lua-src ships the Lua library sources without lua.c, so this file is our own small `main`:
 * it runs one script file given on the command line with the standard libraries opened and the
 * remaining arguments in the global table `arg`. It has no REPL, no options and no readline.
 * An error is printed to stderr and the exit status is 1.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

/* Calls the chunk on top of the stack with a traceback handler below it. */
static int run_chunk(lua_State *L, int nargs) {
    int base = lua_gettop(L) - nargs;
    lua_getglobal(L, "debug");
    lua_getfield(L, -1, "traceback");
    lua_remove(L, -2);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, 0, base);
    lua_remove(L, base);
    return status;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT [ARGS...]\n", argv[0]);
        return 2;
    }
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, "lua: cannot create state\n");
        return 1;
    }
    luaL_openlibs(L);
    lua_createtable(L, argc, 0);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");
    int status = luaL_loadfile(L, argv[1]);
    if (status == LUA_OK) {
        for (int i = 2; i < argc; i++)
            lua_pushstring(L, argv[i]);
        status = run_chunk(L, argc - 2);
    }
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "lua: %s\n", msg ? msg : "(error object is not a string)");
        lua_close(L);
        return 1;
    }
    lua_close(L);
    return 0;
}
