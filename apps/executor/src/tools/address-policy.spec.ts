import { AddressPolicy } from './address-policy';

describe('AddressPolicy', () => {
  const policy = new AddressPolicy();

  it.each(['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fe80::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '224.0.0.1'])(
    'refuses %s',
    (address) => expect(policy.refusal(address)).toBeDefined(),
  );

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111'])('accepts the public address %s', (address) => {
    expect(policy.refusal(address)).toBeUndefined();
  });

  it('accepts allow-listed addresses, ranges and hosts', () => {
    const allowing = new AddressPolicy(['127.0.0.1', '10.0.0.0/8', 'internal.example']);
    expect(allowing.refusal('127.0.0.1')).toBeUndefined();
    expect(allowing.refusal('10.9.9.9')).toBeUndefined();
    expect(allowing.refusal('127.0.0.2')).toBeDefined();
    expect(allowing.hostAllowed('Internal.Example')).toBe(true);
  });
});
