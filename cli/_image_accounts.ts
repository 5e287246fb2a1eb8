// The users and groups of an image, from its /etc/passwd and /etc/group (read once, when a
// name is first looked up), for build's USER and COPY --chown.
import { type Contree, NotFoundError } from "../mod.ts";

/** A user of an image. */
export interface Account {
  uid: number;
  /** Its primary group. */
  gid: number;
  home: string;
}

const numeric = (text: string | undefined) =>
  text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;

/** The users and groups of one image. */
export class ImageAccounts {
  readonly #contree: Contree;
  readonly #image: string;
  #tables = new Map<string, Promise<string[][]>>();

  constructor(contree: Contree, image: string) {
    this.#contree = contree;
    this.#image = image;
  }

  /** The user named `name`, or whose uid it is; `undefined` when the image has none. */
  async user(name: string): Promise<Account | undefined> {
    const fields = (await this.#table("/etc/passwd")).find((f) => f[0] === name || f[2] === name);
    const uid = numeric(fields?.[2]);
    if (!fields || uid === undefined) return undefined;
    return { uid, gid: numeric(fields[3]) ?? 0, home: fields[5] ?? "" };
  }

  /** The gid of the group named `name`; `undefined` when the image has none. */
  async group(name: string): Promise<number | undefined> {
    return numeric((await this.#table("/etc/group")).find((f) => f[0] === name)?.[2]);
  }

  /** The `:`-separated fields of the file's lines (none when the image has no such file). */
  #table(path: string): Promise<string[][]> {
    let table = this.#tables.get(path);
    if (!table) this.#tables.set(path, table = this.#read(path));
    return table;
  }

  async #read(path: string): Promise<string[][]> {
    try {
      const { body } = await this.#contree.api.downloadStream(this.#image, path);
      const text = await new Response(body).text();
      return text.split("\n").filter((line) => line && !line.startsWith("#")).map((line) =>
        line.split(":")
      );
    } catch (error) {
      if (error instanceof NotFoundError) return [];
      throw error;
    }
  }
}
