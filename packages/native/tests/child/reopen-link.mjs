// reopen-link.mjs LINK_PIN PROGRAM_PIN PACKAGE_URL - the "second process" of the attach tests: it
// opens an XDP link and a program from their pins, swaps the link to that program, and prints
// what it saw as JSON. It closes its fds on exit; the pin keeps the link attached.
const [linkPin, programPin, packageUrl] = process.argv.slice(2);
const { BpfLink, BpfProgram } = await import(packageUrl);

const link = BpfLink.fromPinned(linkPin);
const program = BpfProgram.fromPinned(programPin);
const before = link.info();
link.update(program);
const after = link.info();
process.stdout.write(JSON.stringify({ before, after, programId: program.id }));
link.dispose();
program.dispose();
