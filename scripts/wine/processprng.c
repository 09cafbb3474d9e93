/* bcryptprimitives.dll shim for Wine 8.0, which lacks ProcessPrng.
 * Rust's std (1.78+) gets random bytes from bcryptprimitives!ProcessPrng, so every Rust-built wheel
 * (pydantic-core 2.18+) fails to load without it. Windows documents ProcessPrng as "always succeeds,
 * returns TRUE"; we forward to advapi32!SystemFunction036 (RtlGenRandom), which Wine implements.
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -s -o bcryptprimitives.dll processprng.c -ladvapi32
 * and put the DLL beside python.exe (the loader searches the application folder first). */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
