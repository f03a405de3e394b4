/* Test-only stand-in for Windows' bcryptprimitives.dll, for Wine older than 8.13 (Debian 12
 * ships 8.0), which lacks it. Rust's std (1.78+) imports ProcessPrng from it for randomness;
 * real Windows 10+ has the DLL. This one draws from RtlGenRandom (advapi32), which Wine has.
 * run.sh builds it with mingw and installs it into the throw-away Wine prefix only when the
 * prefix has no bcryptprimitives.dll of its own. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom */

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
