// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.30;

import {IRootChain} from "../../src/interfaces/IRootChain.sol";
import {RootChain} from "../../src/RootChain.sol";
import {PaymentTx} from "../../src/libraries/PaymentTx.sol";
import {UtxoPos} from "../../src/libraries/UtxoPos.sol";
import {MockERC20} from "../mocks/Tokens.sol";
import {TogglingReceiver} from "../mocks/Receivers.sol";
import {MerkleTree} from "../utils/MerkleTree.sol";
import {TxLib} from "../utils/TxLib.sol";
import {Vm, vm} from "../utils/Vm.sol";

/// @notice Drives the root chain like an honest operator with honest and dishonest users: deposits (ETH and a
///         test ERC20), child-chain transfers in real operator blocks with real proofs, valid exits, invalid exits
///         of spent outputs that are challenged with the owner's EIP-712-signed spend, time warps, processing and
///         withdrawals. It keeps a model of every output and ghost flags for the invariants.
contract RootChainHandler {
    enum State {
        Unspent,
        Spent,
        Exiting,
        Finalized,
        Challenged,
        InFlight, // spent by a payment that was never included (its value is its group's)
        Pending // an output of a payment that was never included (its value is its group's)
    }

    struct Utxo {
        uint256 pos;
        address owner;
        uint256 ownerPk; // 0 for the contract receiver, which cannot sign
        address token;
        uint256 amount;
        State state;
        bytes txBytes;
        bytes proof;
        bytes spendTx; // the child-chain transaction that spent it (if Spent)
        bytes spendSig; // its owner's signature over spendTx
        uint256 exitPriority;
        uint256 group; // 0, or the conflict group whose value this output shares (see InFlightHandler)
        bool phantom; // an output of a double spend of an already spent input: worth nothing
        bool locked; // piggybacked: the operator refuses to spend it
    }

    RootChain public immutable chain;
    MockERC20 public immutable token;
    TogglingReceiver public immutable receiver;
    address public immutable operator;
    uint256 public immutable bond;
    uint256 public immutable mep;

    uint256[] internal pks;
    address[] public actors; // signing users, then the receiver contract
    Utxo[] internal utxos;
    mapping(uint256 pos => uint256 indexPlusOne) internal indexOf;
    mapping(bytes32 outputId => uint256) public timesPaid;
    mapping(address token => uint256) public lastPaidPriority;
    mapping(address token => uint256) public lastPoppedPriority;

    bool public paidTwice;
    bool public paidOutOfOrder;
    bool public paidWrongly;
    uint256 public payouts;
    uint256 public challenges;
    /// @notice Standard exits whose bond the contract holds.
    uint256 public activeStandardExits;

    constructor(RootChain chain_, MockERC20 token_, address operator_) {
        chain = chain_;
        token = token_;
        operator = operator_;
        bond = chain_.exitBond();
        mep = chain_.minExitPeriod();
        receiver = new TogglingReceiver();
        for (uint256 i = 1; i <= 3; ++i) {
            uint256 pk = 0xA000 + i;
            pks.push(pk);
            actors.push(vm.addr(pk));
        }
        actors.push(address(receiver));
    }

    // ================================================================ actions

    function depositEth(uint256 actorSeed, uint256 amount) external {
        address who = actors[actorSeed % actors.length];
        amount = chain.minDeposit() + amount % 10 ether;
        vm.deal(who, who.balance + amount);
        _makeRoomForDeposit();
        uint256 blknum = chain.nextDepositBlock();
        vm.prank(who);
        chain.deposit{value: amount}();
        _addDeposit(who, actorSeed % actors.length, address(0), amount, blknum);
    }

    function depositToken(uint256 actorSeed, uint256 amount) external {
        address who = actors[actorSeed % actors.length];
        amount = 1 + amount % 1e24;
        token.mint(who, amount);
        vm.prank(who);
        token.approve(address(chain), amount);
        _makeRoomForDeposit();
        uint256 blknum = chain.nextDepositBlock();
        vm.prank(who);
        chain.depositToken(address(token), amount);
        _addDeposit(who, actorSeed % actors.length, address(token), amount, blknum);
    }

    /// @notice An honest child-chain payment: an unspent output is split between a recipient and change.
    function transfer(uint256 utxoSeed, uint256 toSeed, uint256 split, uint256 txIndex) external {
        (bool found, uint256 i) = _pick(utxoSeed, State.Unspent, true);
        if (!found) return;
        Utxo storage u = utxos[i];
        if (u.locked || _exitedOutput(u)) return; // the operator refuses to spend piggybacked or exited outputs
        uint256 toActor = toSeed % actors.length;
        uint256 a = u.amount == 1 ? 1 : 1 + split % (u.amount - 1);
        PaymentTx.Transaction memory t;
        {
            uint256[] memory inputs = new uint256[](1);
            inputs[0] = u.pos;
            PaymentTx.Output[] memory outputs = new PaymentTx.Output[](u.amount == a ? 1 : 2);
            outputs[0] = TxLib.output(actors[toActor], u.token, a);
            if (outputs.length == 2) outputs[1] = TxLib.output(u.owner, u.token, u.amount - a);
            t = TxLib.payment(inputs, outputs, bytes32(txIndex));
        }
        txIndex %= 65_536;
        bytes memory txBytes = TxLib.encode(t);
        bytes32 root;
        bytes memory proof;
        {
            uint256[] memory idx = new uint256[](1);
            bytes32[] memory leaves = new bytes32[](1);
            idx[0] = txIndex;
            leaves[0] = MerkleTree.leaf(txBytes);
            (root, proof) = MerkleTree.rootAndProof(idx, leaves, txIndex);
        }
        uint256 blknum = chain.nextChildBlock();
        vm.prank(operator);
        chain.submitBlock(root);
        u.state = State.Spent;
        u.spendTx = txBytes;
        u.spendSig = TxLib.sign(t, address(chain), u.ownerPk);
        uint256 ownerActor = _actorIndex(u.owner);
        _add(UtxoPos.encode(blknum, txIndex, 0), actors[toActor], _pkOf(toActor), u.token, a, txBytes, proof);
        if (t.outputs.length == 2) {
            _add(
                UtxoPos.encode(blknum, txIndex, 1),
                u.owner,
                _pkOf(ownerActor),
                u.token,
                u.amount - a,
                txBytes,
                proof
            );
        }
    }

    /// @notice A valid standard exit of an unspent output by its owner.
    function startExit(uint256 utxoSeed) external virtual {
        (bool found, uint256 i) = _pick(utxoSeed, State.Unspent, false);
        if (!found) return;
        Utxo storage u = utxos[i];
        if (_exitedOutput(u)) return;
        vm.deal(u.owner, u.owner.balance + bond);
        vm.prank(u.owner);
        chain.startStandardExit{value: bond}(u.pos, u.txBytes, u.proof);
        u.state = State.Exiting;
        u.exitPriority = (_expectedExitableAt(u.pos) << 128) | u.pos;
        ++activeStandardExits;
        require(chain.nextExit(u.token) <= u.exitPriority, "queue top above new exit");
    }

    /// @notice A dishonest exit of an already spent output, challenged at once with the owner's signed spend.
    function invalidExitAndChallenge(uint256 utxoSeed, uint256 challengerSeed) external {
        (bool found, uint256 i) = _pick(utxoSeed, State.Spent, false);
        if (!found) return;
        Utxo storage u = utxos[i];
        if (_exitedOutput(u)) return;
        vm.deal(u.owner, u.owner.balance + bond);
        vm.prank(u.owner);
        chain.startStandardExit{value: bond}(u.pos, u.txBytes, u.proof);
        address challenger = actors[challengerSeed % 3];
        uint256 before = challenger.balance;
        (uint256 nIn,) = _counts(u.spendTx);
        uint256 inputIndex;
        for (uint256 k; k < nIn; ++k) {
            if (_inputAt(u.spendTx, k) == u.pos) inputIndex = k;
        }
        vm.prank(challenger);
        chain.challengeStandardExit(u.pos, u.spendTx, inputIndex, u.spendSig);
        require(challenger.balance == before + bond, "bond not paid to challenger");
        u.state = State.Challenged;
        ++challenges;
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + 1 + seconds_ % (3 * mep));
    }

    function processExits(uint256 tokenSeed, uint256 maxExits) external virtual {
        address tkn = tokenSeed % 2 == 0 ? address(0) : address(token);
        maxExits = 1 + maxExits % 8;
        for (uint256 n; n < maxExits; ++n) {
            if (!_checkTop(tkn)) return;
            vm.recordLogs();
            uint256 popped = chain.processExits(tkn, 1);
            _recordLogs(vm.getRecordedLogs(), tkn);
            if (popped == 0) return; // an in-flight entry is on top (see InFlightHandler)
        }
    }

    /// @dev Before a pop: the queue's top, in `nextExit`'s form, never below an entry popped before and popped only
    ///      once exitable. Returns false if nothing is exitable.
    function _checkTop(address tkn) internal returns (bool) {
        if (chain.exitQueueLength(tkn) == 0) return false;
        uint256 top = chain.nextExit(tkn);
        if (top >> 128 > block.timestamp) return false;
        if (top < lastPoppedPriority[tkn]) paidOutOfOrder = true;
        lastPoppedPriority[tkn] = top;
        return true;
    }

    /// @dev Account for the payouts a processing call logged.
    function _recordLogs(Vm.Log[] memory logs, address tkn) internal virtual {
        for (uint256 k; k < logs.length; ++k) {
            if (logs[k].emitter != address(chain)) continue;
            bytes32 topic = logs[k].topics[0];
            if (topic == IRootChain.ExitUnfunded.selector) paidWrongly = true; // never, with an honest operator
            if (topic != IRootChain.ExitFinalized.selector) continue;
            uint256 pos = uint256(logs[k].topics[1]);
            (address owner, address t, uint256 amount,) =
                abi.decode(logs[k].data, (address, address, uint256, bool));
            uint256 idx = indexOf[pos];
            if (idx == 0) {
                paidWrongly = true;
                continue;
            }
            Utxo storage u = utxos[idx - 1];
            if (u.owner != owner || u.token != t || u.amount != amount || t != tkn) paidWrongly = true;
            if (u.exitPriority < lastPaidPriority[tkn] || (u.exitPriority >> 128) > block.timestamp) {
                paidOutOfOrder = true;
            }
            lastPaidPriority[tkn] = u.exitPriority;
            --activeStandardExits;
            _paid(idx - 1, amount);
        }
    }

    /// @dev Output `i` was paid `amount` (by a standard or an in-flight exit): once, and only if it is worth it.
    function _paid(uint256 i, uint256 amount) internal virtual {
        Utxo storage u = utxos[i];
        // One output, one identity, whatever the kind of exit: its creating transaction and its index.
        if (++timesPaid[keccak256(abi.encode(keccak256(u.txBytes), u.pos % 10_000))] > 1) paidTwice = true;
        if (u.phantom || (u.state != State.Exiting && u.state != State.Unspent && u.group == 0)) {
            paidWrongly = true;
        }
        if (u.state == State.Finalized || u.state == State.Spent) paidWrongly = true;
        u.state = State.Finalized;
        amount;
        ++payouts;
    }

    /// @notice The contract receiver starts accepting ETH and pulls what failed payouts credited to it.
    function receiverWithdraw(bool open) external {
        receiver.setOpen(open);
        for (uint256 k; k < 2; ++k) {
            address tkn = k == 0 ? address(0) : address(token);
            if (chain.withdrawable(address(receiver), tkn) == 0) continue;
            if (!open && tkn == address(0)) continue;
            vm.prank(address(receiver));
            chain.withdraw(tkn);
        }
    }

    // ================================================================ model views for the invariants

    function utxoCount() external view returns (uint256) {
        return utxos.length;
    }

    function utxoAt(uint256 i)
        external
        view
        returns (uint256 pos, address token_, uint256 amount, State state)
    {
        Utxo storage u = utxos[i];
        return (u.pos, u.token, u.amount, u.state);
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    /// @notice What the contract must hold in `tkn`: the outputs still worth something (unspent, exiting, and each
    ///         conflict group's unpaid value), the bonds it holds (ETH) and the credits it owes.
    function expectedBalance(address tkn) public view virtual returns (uint256 total) {
        for (uint256 i; i < utxos.length; ++i) {
            Utxo storage u = utxos[i];
            if (u.token != tkn || u.group != 0 || u.phantom) continue;
            if (u.state == State.Unspent || u.state == State.Exiting) total += u.amount;
        }
        if (tkn == address(0)) total += activeStandardExits * bond + _otherBonds();
        for (uint256 a; a < actors.length; ++a) {
            total += chain.withdrawable(actors[a], tkn);
        }
        total += chain.withdrawable(address(this), tkn); // as a processor or challenger, it cannot take ETH
    }

    /// @dev Bonds other than standard exits' (the in-flight handler's).
    function _otherBonds() internal view virtual returns (uint256) {
        return 0;
    }

    // ================================================================ internals

    function _makeRoomForDeposit() internal {
        if (chain.nextDepositBlock() % 1000 == 0) {
            vm.prank(operator);
            chain.submitBlock(keccak256(abi.encode("empty", block.timestamp)));
        }
    }

    function _addDeposit(address who, uint256 actorIdx, address tkn, uint256 amount, uint256 blknum)
        internal
    {
        bytes memory txBytes = TxLib.encode(TxLib.depositTx(who, tkn, amount, blknum));
        (, bytes memory proof) = MerkleTree.single(MerkleTree.leaf(txBytes), 0);
        _add(UtxoPos.encode(blknum, 0, 0), who, _pkOf(actorIdx), tkn, amount, txBytes, proof);
    }

    function _add(
        uint256 pos,
        address owner,
        uint256 pk,
        address tkn,
        uint256 amount,
        bytes memory txBytes,
        bytes memory proof
    ) internal {
        utxos.push();
        Utxo storage u = utxos[utxos.length - 1];
        u.pos = pos;
        u.owner = owner;
        u.ownerPk = pk;
        u.token = tkn;
        u.amount = amount;
        u.txBytes = txBytes;
        u.proof = proof;
        indexOf[pos] = utxos.length;
    }

    function _pkOf(uint256 actorIdx) internal view returns (uint256) {
        return actorIdx < pks.length ? pks[actorIdx] : 0;
    }

    function _actorIndex(address who) internal view returns (uint256) {
        for (uint256 i; i < actors.length; ++i) {
            if (actors[i] == who) return i;
        }
        revert("unknown actor");
    }

    /// @dev The first output at or after `seed` in state `state` (and with a signing owner if `needSigner`).
    function _pick(uint256 seed, State state, bool needSigner) internal view returns (bool, uint256) {
        uint256 n = utxos.length;
        if (n == 0) return (false, 0);
        for (uint256 k; k < n; ++k) {
            uint256 i = (seed % n + k) % n;
            Utxo storage u = utxos[i];
            if (
                u.state == state && (!needSigner || u.ownerPk != 0)
                    && (state != State.Spent || u.ownerPk != 0)
            ) {
                return (true, i);
            }
        }
        return (false, 0);
    }

    /// @dev Whether the contract already closed this output to a new standard exit (exited in flight, or a standard
    ///      exit at some position).
    function _exitedOutput(Utxo storage u) internal view returns (bool) {
        (bool se, bool exited) = chain.outputExits(keccak256(u.txBytes), u.pos % 10_000);
        return se || exited;
    }

    function _expectedExitableAt(uint256 pos) internal view returns (uint256) {
        uint256 blknum = pos / 1e9;
        (, uint256 ts) = chain.getBlock(blknum);
        uint256 fromBlock = ts + (blknum % 1000 == 0 ? 2 * mep : mep);
        uint256 fromNow = block.timestamp + mep;
        return fromBlock > fromNow ? fromBlock : fromNow;
    }

    function _counts(bytes memory txBytes) internal pure returns (uint256 nIn, uint256 nOut) {
        PaymentTx.Transaction memory t = abi.decode(txBytes, (PaymentTx.Transaction));
        return (t.inputs.length, t.outputs.length);
    }

    function _inputAt(bytes memory txBytes, uint256 k) internal pure returns (uint256) {
        return abi.decode(txBytes, (PaymentTx.Transaction)).inputs[k];
    }
}
