import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One tool of a virtual server: `alias` is its name there, `tool` its name on the server `serverId`. */
@Entity({ name: 'virtual_server_tools' })
export class VirtualServerToolEntity {
  @PrimaryColumn({ name: 'virtual_server_id', type: 'uuid' })
  virtualServerId!: string;

  @PrimaryColumn({ type: 'text' })
  alias!: string;

  @Column({ type: 'integer' })
  position!: number;

  @Column({ name: 'server_id', type: 'uuid' })
  serverId!: string;

  @Column({ type: 'text' })
  tool!: string;
}
