import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface TestDns {
  /** "127.0.0.1:<port>" for Resolver.setServers / DNS_SERVERS. */
  server: string;
  /** Replace the TXT records of a name (an empty list removes them). */
  setTxt(name: string, values: string[]): void;
  /** Replace the A/AAAA answers of a name. */
  setAddresses(name: string, addresses: string[]): void;
  /** Answer every query for a name with SERVFAIL (a failed lookup, not an answer), or stop doing so. */
  setFailing(name: string, failing: boolean): void;
  close(): Promise<void>;
}

/**
 * An authoritative DNS server on 127.0.0.1 (UDP, the real wire format via dns-packet) answering
 * from in-memory records: tests point node's Resolver at it to prove domains and resolve hosts.
 * Unknown names get NXDOMAIN; names set failing get SERVFAIL.
 */
export async function startTestDns(): Promise<TestDns> {
  const txt = new Map<string, string[]>();
  const addresses = new Map<string, string[]>();
  const failing = new Set<string>();
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, remote) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    if (!question) return;
    const name = question.name.toLowerCase().replace(/\.$/, '');
    const answers: dnsPacket.Answer[] = [];
    if (question.type === 'TXT')
      for (const value of txt.get(name) ?? []) {
        // One record may hold several 255-byte chunks, as real TXT records do.
        const chunks = value.match(/.{1,255}/gs) ?? [''];
        answers.push({ type: 'TXT', name: question.name, ttl: 1, class: 'IN', data: chunks });
      }
    for (const address of addresses.get(name) ?? []) {
      const type = address.includes(':') ? 'AAAA' : 'A';
      if (question.type === type)
        answers.push({ type, name: question.name, ttl: 1, class: 'IN', data: address });
    }
    const known = txt.has(name) || addresses.has(name);
    // rcode 2 = SERVFAIL, 3 = NXDOMAIN
    const rcode = failing.has(name) ? 2 : known ? 0 : 3;
    const response = dnsPacket.encode({
      id: query.id,
      type: 'response',
      flags: dnsPacket.AUTHORITATIVE_ANSWER | rcode,
      questions: query.questions,
      answers: rcode === 0 ? answers : [],
    });
    socket.send(response, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    setTxt(name, values) {
      if (values.length) txt.set(name.toLowerCase(), values);
      else txt.delete(name.toLowerCase());
    },
    setAddresses(name, list) {
      if (list.length) addresses.set(name.toLowerCase(), list);
      else addresses.delete(name.toLowerCase());
    },
    setFailing(name, on) {
      if (on) failing.add(name.toLowerCase());
      else failing.delete(name.toLowerCase());
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
