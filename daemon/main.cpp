// ttygated: placeholder until the daemon is wired.
int main() { return 1; }
