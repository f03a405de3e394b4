/* Holds a file open the way many Windows programs do while writing it: no sharing at all, so
 * nobody else may read it. Prints "holding" once it has the file, then waits until the file
 * named by the second argument exists. Usage: hold.exe FILE RELEASE_FILE */
#include <windows.h>
#include <stdio.h>

int wmain(int argc, wchar_t **argv) {
    if (argc != 3) return 2;
    HANDLE h = CreateFileW(argv[1], GENERIC_READ | GENERIC_WRITE, 0 /* no sharing */, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "hold: cannot open (error %lu)\n", GetLastError());
        return 1;
    }
    printf("holding\n");
    fflush(stdout);
    while (GetFileAttributesW(argv[2]) == INVALID_FILE_ATTRIBUTES) Sleep(50);
    CloseHandle(h);
    return 0;
}
