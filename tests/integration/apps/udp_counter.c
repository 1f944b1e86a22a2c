// A UDP service with state: answers each datagram on port ARGV[1] with how many it has
// answered, itself included ("1", "2", ...). A count that goes on after a handoff is one
// the moved process kept.
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int main(int argc, char** argv) {
  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons(argc > 1 ? atoi(argv[1]) : 9000)};
  if (udp < 0 || bind(udp, (struct sockaddr*)&at, sizeof(at)) != 0) {
    perror("udp_counter");
    return 1;
  }
  unsigned long answered = 0;
  for (;;) {
    char buffer[512], answer[32];
    struct sockaddr_in from;
    socklen_t size = sizeof(from);
    if (recvfrom(udp, buffer, sizeof(buffer), 0, (struct sockaddr*)&from, &size) < 0) continue;
    int length = snprintf(answer, sizeof(answer), "%lu", ++answered);
    sendto(udp, answer, length, 0, (struct sockaddr*)&from, size);
  }
}
