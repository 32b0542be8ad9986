/**
 * A strict little XML well-formedness check for the SVG the writer produces (no dependency): one
 * root element, every tag closed in order, attributes quoted and unique, text and attribute values
 * free of raw `<` and of `&` outside the five predefined entities and character references.
 * Returns the root element's name and the element count; throws with the offset on the first fault.
 */
export function checkXml(text: string): { root: string; elements: number; texts: string[] } {
  const stack: string[] = [];
  const texts: string[] = [];
  let root = '';
  let elements = 0;
  let i = 0;
  const entity = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/y;
  const checkText = (s: string, at: number) => {
    for (let k = 0; k < s.length; k++) {
      if (s[k] === '<') throw new Error(`raw "<" at ${at + k}`);
      if (s[k] === '&') {
        entity.lastIndex = k;
        if (!entity.test(s)) throw new Error(`bad entity at ${at + k}: ${s.slice(k, k + 10)}`);
      }
    }
  };
  if (text.startsWith('<?xml')) i = text.indexOf('?>') + 2;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunk = lt < 0 ? text.slice(i) : text.slice(i, lt);
    if (chunk.trim()) {
      if (stack.length === 0) throw new Error(`text outside the root at ${i}`);
      checkText(chunk, i);
      texts.push(chunk);
    }
    if (lt < 0) break;
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt);
      if (end < 0) throw new Error(`unterminated comment at ${lt}`);
      i = end + 3;
      continue;
    }
    const gt = text.indexOf('>', lt);
    if (gt < 0) throw new Error(`unterminated tag at ${lt}`);
    const tag = text.slice(lt + 1, gt);
    if (tag.startsWith('/')) {
      const name = tag.slice(1).trim();
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> at ${lt} closes <${open ?? 'nothing'}>`);
    } else {
      const selfClosing = tag.endsWith('/');
      const body = selfClosing ? tag.slice(0, -1) : tag;
      const m = /^([A-Za-z_][\w:.-]*)/.exec(body);
      if (!m) throw new Error(`bad tag name at ${lt}`);
      const name = m[1]!;
      let rest = body.slice(name.length);
      const seen = new Set<string>();
      const attr = /^\s+([A-Za-z_][\w:.-]*)="([^"]*)"/;
      for (;;) {
        const a = attr.exec(rest);
        if (!a) break;
        if (seen.has(a[1]!)) throw new Error(`duplicate attribute ${a[1]} at ${lt}`);
        seen.add(a[1]!);
        checkText(a[2]!, lt);
        rest = rest.slice(a[0].length);
      }
      if (rest.trim()) throw new Error(`malformed attributes in <${name}> at ${lt}: ${rest.slice(0, 30)}`);
      if (stack.length === 0) {
        if (root) throw new Error(`a second root element <${name}> at ${lt}`);
        root = name;
      }
      elements++;
      if (!selfClosing) stack.push(name);
    }
    i = gt + 1;
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`);
  if (!root) throw new Error('no root element');
  return { root, elements, texts };
}
